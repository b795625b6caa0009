"""A&D balances (GF/GX/FX-i/FZ-i) and indicators (AD-43xx) in stream or print mode.

Balance frame (15 chars + CR LF): ``HH,±DDDDDD.DUUU`` e.g. ``ST,+001234.5  g``. Header ``ST`` stable,
``US`` unstable, ``QT`` piece count (not a mass), ``OL`` out of range (sign tells over/under; the digits
are 9s or spaces and are never read as a mass). Indicators (AD-4329/AD-4404) add a second header:
``ST,GS,+0012.34kg`` with GS gross, NT net, TR/PT tare (a tare print, not a load); comparator models send
``ST,OK,+0001.234 kg`` (LO/OK/HI/--). ``GS``/``NT`` become ``data.mode`` gross/net: a net frame (tare keyed
on the indicator) is never read as gross. ``EC,Exx`` error replies are weight readings with status
``error`` and the code's meaning as ``reason`` (the runner also counts them as bad frames).
Factory serial setting is 2400 baud 7E1 (FX-i); the parity bit is masked so an 8-bit read still works.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field

from edge_agent.drivers.base import BadFrame, Decoded
from edge_agent.drivers.lines import LineDecoder
from edge_agent.drivers.scale_base import ScaleConfigBase, info, no_mass, scale_runner, weight
from edge_agent.drivers.serial_port import SerialPortConfig, SerialRunner
from edge_agent.drivers.units import parse_number

_FRAME = re.compile(
    r"^(?P<h1>ST|US|QT|OL)(?:,(?P<h2>GS|NT|TR|PT|OK|LO|HI|--))?,"
    r"(?P<data>[+\-]?[0-9 .,]*?)\s*(?P<unit>[A-Za-z%]{0,3})\s*$"
)
_ERROR = re.compile(r"^EC,(E\d\d)\s*$")
ERRORS = {
    "E00": "communication error", "E01": "undefined command", "E02": "not ready", "E03": "timeout",
    "E04": "excess characters", "E06": "format error", "E07": "parameter error", "E11": "stability error",
    "E17": "out of range",
}


class AndPortConfig(SerialPortConfig):
    """Serial line with A&D's factory defaults (2400 baud, 7 data bits, even parity)."""

    baudrate: int = Field(default=2400, description="Baud rate; A&D FX-i factory setting is 2400.")
    bytesize: Literal[7, 8] = Field(default=7, description="Data bits (A&D default 7).")
    parity: Literal["N", "E", "O"] = Field(default="E", description="Parity (A&D default even).")


class AndAdConfig(ScaleConfigBase):
    """An A&D balance or weighing indicator."""

    type: Literal["and_ad"] = Field(description="Driver key.")
    port: AndPortConfig = Field(description="Serial/TCP connection (A&D default 2400 7E1).")


def parse_line(text: str, raw: bytes) -> Decoded | None:
    """One A&D output line -> weight / info reading, or a bad frame with the reason."""
    line = text.strip()
    if m := _ERROR.match(line):
        code = m.group(1)
        return no_mass("error", raw, f"device error {code} ({ERRORS.get(code, 'unknown')})")
    m = _FRAME.match(line)
    if m is None:
        return BadFrame("unrecognised A&D frame", raw)
    h1, h2, data, unit = m.group("h1"), m.group("h2"), m.group("data"), m.group("unit").strip()
    if h1 == "OL":
        under = data.startswith("-")
        return no_mass("underload" if under else "overload", raw, f"out of range ({'under' if under else 'over'}, OL)")
    value = parse_number(data)
    if value is None:
        return BadFrame(f"unreadable weight {data!r}", raw)
    if h1 == "QT" or unit.upper() in ("PC", "PCS", "%"):
        return info(raw, count=value, unit=unit or None)
    if h2 in ("TR", "PT"):
        return info(raw, tare=value, unit=unit)
    mode = {"GS": "gross", "NT": "net"}.get(h2 or "")
    reading = weight(value, unit, h1 == "ST", raw, mode)  # type: ignore[arg-type]
    return reading if reading is not None else BadFrame(f"not a mass unit {unit!r}", raw)


def decoder(config: AndAdConfig | None = None) -> LineDecoder:
    return LineDecoder(parse_line, mask_parity=True)


def runner(config: AndAdConfig, capture_path: Path | None = None) -> SerialRunner:
    return scale_runner(config, config.port, lambda: decoder(config), capture_path)
