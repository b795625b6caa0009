"""Ohaus Defender/Ranger/Courier/Navigator print and continuous (``CP``) output.

Line: polarity (``-`` or blank), space, weight (right-justified), space, unit (≤ 5), stability
(``?`` when unstable, else blank), legend (``G`` gross, ``NET``/``N`` net, ``T`` tare), CR LF; e.g.
``      12.73 g    ?``. A tare print (legend ``T``) is not a load; ``G`` and ``NET``/``N`` become
``data.mode`` gross/net (no legend: the line does not say). ``ES`` answers an invalid command: a weight
reading with status ``error`` naming it. Overload/underload print as ``OL``/``UL`` markers on the models
we know of (unverified across the range). A line must start with the polarity character (``-`` or
space), so a line cut in the middle of its number after attaching mid-stream is rejected instead of read
as a smaller weight.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field

from edge_agent.drivers.base import BadFrame, Decoded
from edge_agent.drivers.lines import LineDecoder
from edge_agent.drivers.scale_base import ScaleConfigBase, info, no_mass, scale_runner, signed_frame, weight
from edge_agent.drivers.serial_port import SerialPortConfig, SerialRunner

_FRAME = re.compile(
    r"^(?P<sign>[- ])\s*(?P<num>\d[\d.,]*)\s+(?P<unit>[A-Za-z]{1,5})\s*(?P<q>\?)?\s*"
    r"(?P<legend>G|NET|N|T|GROSS|TARE)?\s*$"
)
_RANGE = re.compile(r"^\s*-?\s*(?P<m>OL|UL|-OL-|-UL-|OVERLOAD|UNDERLOAD)\s*$", re.IGNORECASE)


class OhausPortConfig(SerialPortConfig):
    """Serial line with the common Ohaus default (9600 8N1; check the balance's menu)."""


class OhausConfig(ScaleConfigBase):
    """An Ohaus balance or indicator (continuous output ``CP`` or print-on-stable ``SP``)."""

    type: Literal["ohaus"] = Field(description="Driver key.")
    port: OhausPortConfig = Field(description="Serial/TCP connection (typically 9600 8N1).")


def parse_line(text: str, raw: bytes) -> Decoded | None:
    """One Ohaus output line -> weight / info reading, or a bad frame with the reason."""
    if text.strip() == "ES":
        return no_mass("error", raw, "device reported ES (invalid command)")
    if m := _RANGE.match(text):
        under = "U" in m.group("m").upper()[:3]
        return no_mass("underload" if under else "overload", raw, f"out of range ({m.group('m').strip()})")
    found = signed_frame(_FRAME, text, raw, "unrecognised Ohaus line (or a line cut mid-number)")
    if isinstance(found, BadFrame):
        return found
    m, value = found
    unit, legend = m.group("unit"), (m.group("legend") or "").upper()
    if legend in ("T", "TARE"):
        return info(raw, tare=value, unit=unit)
    if unit.lower() in ("pcs", "pc"):
        return info(raw, count=value, unit=unit)
    mode = {"G": "gross", "GROSS": "gross", "NET": "net", "N": "net"}.get(legend)
    reading = weight(value, unit, m.group("q") is None, raw, mode)  # type: ignore[arg-type]
    return reading if reading is not None else BadFrame(f"not a mass unit {unit!r}", raw)


def decoder(config: OhausConfig | None = None) -> LineDecoder:
    return LineDecoder(parse_line)


def runner(config: OhausConfig, capture_path: Path | None = None) -> SerialRunner:
    return scale_runner(config, config.port, lambda: decoder(config), capture_path)
