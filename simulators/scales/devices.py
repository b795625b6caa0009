"""One place that turns a protocol name into a simulated device, for `junkan sim scale` and the demo.

Protocol names are the CLI spellings; ``DRIVER_KEYS`` maps them to the agent's driver keys (used only
to pick the matching demo line config, never to import a parser).
"""

from __future__ import annotations

from typing import Any

from simulators.scales import and_ad, ohaus, sartorius_sbi, toledo_continuous
from simulators.scales.mt_sics import MtSicsDevice
from simulators.scales.platform import PlatformScale
from simulators.scales.stream import BytePort, StreamingScale

DRIVER_KEYS = {"mt-sics": "mt_sics", "and-ad": "and_ad", "sartorius-sbi": "sartorius_sbi", "ohaus": "ohaus",
               "toledo": "toledo_continuous"}
_ENCODERS = {"and-ad": and_ad.encode_indicator, "sartorius-sbi": sartorius_sbi.encode_with_id, "ohaus": ohaus.encode,
             "toledo": toledo_continuous.encode_7e1}


def make_device(protocol: str, scale: PlatformScale, port: BytePort, noise_rate: float = 0.0, seed: int = 1,
                interval_s: float = 0.1) -> Any:
    """A device with ``serve(stop)`` speaking ``protocol`` about ``scale`` on ``port``."""
    if protocol == "mt-sics":
        return MtSicsDevice(scale, port, noise_rate=noise_rate, seed=seed)
    if protocol not in _ENCODERS:
        raise ValueError(f"unknown scale protocol {protocol!r}; known: {', '.join(sorted(DRIVER_KEYS))}")
    return StreamingScale(scale, port, _ENCODERS[protocol], interval_s=interval_s, noise_rate=noise_rate, seed=seed)
