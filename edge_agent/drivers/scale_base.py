"""What every scale driver shares: the config fields the weighing detector needs, and reading builders.

``edge_agent/core.py`` turns frames into weighings for every driver registered with ``weighs=True``; every
scale config derives from ``ScaleConfigBase`` (``division_kg``, ``stable_frames``) so none can forget them.

A weight frame that names its mode carries it: ``data.mode`` is ``gross`` or ``net`` (the indicator's tare
is subtracted) and ``data.tare_kg`` is the indicator's tare when the frame gives it. A frame whose protocol
does not say (a balance frame without legend) has no ``mode`` and is taken as gross. Error answers, overload
and underload are weight readings without a value whose ``data.reason`` names the cause.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from edge_agent.drivers.base import BadFrame, DeviceConfigBase, DeviceReading, Status
from edge_agent.drivers.serial_port import SerialPortConfig, SerialRunner
from edge_agent.drivers.units import parse_number, to_kg


class ScaleConfigBase(DeviceConfigBase):
    """A scale or weighing indicator on a serial line or a TCP socket (``socket://host:port``)."""

    division_kg: float = Field(default=0.02, gt=0, description="Scale division d (kg), for stability checks.")
    stable_frames: int = Field(default=3, ge=1, le=50, description="Consecutive stable frames within ±1 d.")
    poll_command: str = Field(
        default="",
        description="Command sent every poll interval (CR LF appended) for request/response mode; "
        "empty for continuous (stream) output, the usual setting for these indicators.",
    )
    poll_interval_s: float = Field(default=0.1, gt=0, le=10, description="Seconds between polls.")


Mode = Literal["gross", "net"]


def weight(value: float, unit: str, stable: bool, raw: bytes, mode: Mode | None = None,
           tare: float | None = None) -> DeviceReading | None:
    """A weight frame in kg (``tare`` in the same unit); None when ``unit`` is not a mass unit."""
    kg = to_kg(value, unit)
    if kg is None:
        return None
    data: dict[str, Any] = {}
    if mode is not None:
        data["mode"] = mode
    tare_kg = to_kg(tare, unit) if tare is not None else None
    if tare_kg is not None:
        data["tare_kg"] = round(tare_kg, 9)
    return DeviceReading(kind="weight", value=round(kg, 9), unit="kg", stable=stable,
                         status="ok" if stable else "unstable", data=data, raw=raw)


def signed_frame(pattern: re.Pattern[str], text: str, raw: bytes, unrecognised: str
                 ) -> tuple[re.Match[str], float] | BadFrame:
    """A frame that prints its polarity as a character of its own (group ``sign``: ``-`` or not) before the
    digits (group ``num``), as Ohaus and Sartorius SBI lines do: the match and its signed number."""
    m = pattern.match(text)
    if m is None:
        return BadFrame(unrecognised, raw)
    value = parse_number(m.group("num"))
    if value is None:
        return BadFrame(f"unreadable weight {m.group('num')!r}", raw)
    return m, -value if m.group("sign") == "-" else value


def no_mass(status: Status, raw: bytes, reason: str) -> DeviceReading:
    """Overload, underload or a device-side error answer: a reading that names the cause and never
    becomes a mass."""
    return DeviceReading(kind="weight", value=None, unit="kg", stable=False, status=status,
                         data={"reason": reason}, raw=raw)


def info(raw: bytes, **data: Any) -> DeviceReading:
    """A frame that is valid but not a gross/net weight (tare print, piece count ...)."""
    return DeviceReading(kind="info", data=data, raw=raw)


def scale_runner(config: ScaleConfigBase, port: SerialPortConfig, decoder_factory: Any,
                 capture_path: Path | None) -> SerialRunner:
    poll = f"{config.poll_command}\r\n".encode() if config.poll_command else b""
    return SerialRunner(port, decoder_factory=decoder_factory, poll_command=poll,
                        poll_interval_s=config.poll_interval_s, capture_path=capture_path)
