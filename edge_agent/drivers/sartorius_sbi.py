"""Sartorius SBI print/auto-print output, 16- and 22-character frames.

16 chars: ``±␠DDDDDDDD␠UUU`` + CR LF, e.g. ``+  123.56 g  ``; 22 chars: a 6-character ID (``N``, ``G#``,
``T``, ``Qnt`` ...) in front of the same. **A blank unit field means unstable** (a leading ``?`` too).
``H``/``HH`` overload, ``L``/``LL`` underload, ``Err ###`` device errors (bad frame), ``C`` adjustment,
``Stat ...`` status lines. The 22-character ID gives the mode: ``N``/``NET`` net (a tare is keyed),
``G``/``G#`` gross (``data.mode``); a 16-character frame does not say. ``Err ###`` is a weight reading with
status ``error`` naming the code. Weight lines must have the exact frame width (14 or 20 chars before CR LF):
after attaching mid-stream the first, cut line is rejected instead of being read as a smaller weight.
Older balances' factory serial setting is 1200 baud 7O1; the parity bit is masked.
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

_BODY = re.compile(r"^(?P<q>\?)?(?P<sign>[+\- ])\s*(?P<num>[0-9][0-9 .,]*?)\s(?P<unit>[ A-Za-z%/#]{3})$")
_WIDTHS = (14, 20)  # 16 / 22 character frames without CR LF
_OVER, _UNDER = {"H", "HH", "+H", "HHH"}, {"L", "LL", "-L", "LLL"}
_TARE_IDS = {"T", "T1", "T2", "PT", "PT1", "PT2"}
_NET_IDS, _GROSS_IDS = {"N", "NET", "N1", "N2"}, {"G", "G#", "GROSS"}


class SbiPortConfig(SerialPortConfig):
    """Serial line with the older Sartorius factory defaults (1200 baud, 7 data bits, odd parity)."""

    baudrate: int = Field(default=1200, description="Baud rate; older balances ship with 1200.")
    bytesize: Literal[7, 8] = Field(default=7, description="Data bits (default 7).")
    parity: Literal["N", "E", "O"] = Field(default="O", description="Parity (default odd).")


class SartoriusSbiConfig(ScaleConfigBase):
    """A Sartorius balance or indicator printing SBI frames."""

    type: Literal["sartorius_sbi"] = Field(description="Driver key.")
    port: SbiPortConfig = Field(description="Serial/TCP connection (SBI default 1200 7O1).")
    default_unit: Literal["kg", "g", "t", "lb"] = Field(
        default="kg", description="Unit assumed for unstable frames (blank unit) until a stable frame names it."
    )


class SbiParser:
    """Line parser with one piece of memory: the unit of the last stable frame, because unstable
    frames leave the unit field blank."""

    def __init__(self, default_unit: str = "kg") -> None:
        self.unit = default_unit

    def __call__(self, text: str, raw: bytes) -> Decoded | None:
        """One SBI output line -> weight / info reading, or a bad frame with the reason."""
        stripped = text.strip()
        word = stripped.split()[-1] if stripped else ""
        if stripped in _OVER or (len(text) == 20 and word in _OVER):
            return no_mass("overload", raw, f"overload ({word})")
        if stripped in _UNDER or (len(text) == 20 and word in _UNDER):
            return no_mass("underload", raw, f"underload ({word})")
        if stripped.startswith(("Err", "ERR")):
            return no_mass("error", raw, f"device error: {stripped}")
        if stripped == "C" or stripped.startswith(("Stat", "Cal")):
            return info(raw, message=stripped)
        if len(text) not in _WIDTHS:
            return BadFrame(f"frame width {len(text)} is neither 16 nor 22 (cut line?)", raw)
        ident, body = (text[:6].strip(), text[6:]) if len(text) == 20 else ("", text)
        found = signed_frame(_BODY, body, raw, "unrecognised SBI frame")
        if isinstance(found, BadFrame):
            return found
        m, value = found
        unit = m.group("unit").strip()
        if ident in _TARE_IDS:
            return info(raw, tare=value, unit=unit or None)
        if unit.lower() in ("pcs", "pc", "%", "o/o") or ident.lower().startswith("qnt"):
            return info(raw, count=value, unit=unit or None)
        stable = bool(unit) and m.group("q") is None
        if unit:
            if weight(1.0, unit, True, b"") is None:
                return BadFrame(f"not a mass unit {unit!r}", raw)
            self.unit = unit
        mode = "net" if ident.upper() in _NET_IDS else "gross" if ident.upper() in _GROSS_IDS else None
        return weight(value, self.unit, stable, raw, mode)  # type: ignore[arg-type]


def decoder(config: SartoriusSbiConfig | None = None) -> LineDecoder:
    return LineDecoder(SbiParser(config.default_unit if config else "kg"), mask_parity=True)


def runner(config: SartoriusSbiConfig, capture_path: Path | None = None) -> SerialRunner:
    return scale_runner(config, config.port, lambda: decoder(config), capture_path)
