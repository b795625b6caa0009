"""Mettler Toledo MT-SICS (request/response ASCII): balances and indicators on serial or TCP.

Replies to ``S``/``SI``/``SIR`` start with ``S`` (not the command name). ``S S`` is stable, ``S D``
dynamic; ``S +``/``S -`` over/underload and ``S I`` busy never carry a mass. ``ES``/``ET``/``EL`` are
whole-line errors (``ET`` usually means a baud/parity mismatch) and count as bad frames.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field

from edge_agent.drivers.base import BadFrame, Decoded, DeviceConfigBase, DeviceReading
from edge_agent.drivers.lines import LineDecoder
from edge_agent.drivers.serial_port import SerialPortConfig, SerialRunner
from edge_agent.drivers.units import parse_number, to_kg

_WEIGHT = re.compile(r"^S\s+([SD])\s+(\S+(?:\s\S+)?)\s+([A-Za-z]+)\s*$")
_STATUS_ONLY = re.compile(r"^S\s+([I+\-])\s*$")
_OTHER = re.compile(r"^(Z|ZI|T|TI|TA|TAC|I\d|@)\s+([A-Z+\-])(?:\s+(.*))?$")


class MtSicsConfig(DeviceConfigBase):
    """An MT-SICS balance or indicator."""

    type: Literal["mt_sics"] = Field(description="Driver key.")
    port: SerialPortConfig = Field(description="Serial/TCP connection (MT-SICS default 9600 8N1).")
    poll_command: Literal["SI", "S"] = Field(
        default="SI", description="SI answers at once (stable or dynamic); S waits for stability."
    )
    poll_interval_s: float = Field(default=0.1, gt=0, le=10, description="Seconds between polls.")
    division_kg: float = Field(default=0.02, gt=0, description="Scale division d (kg), for stability checks.")
    stable_frames: int = Field(default=3, ge=1, le=50, description="Consecutive stable frames within ±1 d.")


def parse_line(text: str, raw: bytes) -> Decoded | None:
    """One MT-SICS reply line -> a weight reading, an info reading, or a bad frame."""
    line = text.strip()
    if m := _WEIGHT.match(line):
        letter, number, unit = m.groups()
        value = parse_number(number)
        if value is None:
            return BadFrame(f"unreadable weight {number!r}", raw)
        kg = to_kg(value, unit)
        if kg is None:
            return BadFrame(f"not a mass unit {unit!r}", raw)
        stable = letter == "S"
        return DeviceReading(
            kind="weight", value=kg, unit="kg", stable=stable, status="ok" if stable else "unstable", raw=raw
        )
    if m := _STATUS_ONLY.match(line):
        status = {"+": "overload", "-": "underload", "I": "error"}[m.group(1)]
        return DeviceReading(kind="weight", value=None, unit="kg", stable=False, status=status, raw=raw)  # type: ignore[arg-type]
    if line in ("ES", "ET", "EL"):
        meaning = {"ES": "syntax error", "ET": "transmission error", "EL": "logical error"}[line]
        return BadFrame(f"device reported {line} ({meaning})", raw)
    if line.startswith("S Error"):
        return BadFrame(f"device error: {line}", raw)
    if m := _OTHER.match(line):
        return DeviceReading(kind="info", data={"reply": line}, raw=raw)
    return BadFrame("unrecognised MT-SICS line", raw)


def decoder(config: MtSicsConfig | None = None) -> LineDecoder:
    return LineDecoder(parse_line)


def runner(config: MtSicsConfig, capture_path: Path | None = None) -> SerialRunner:
    return SerialRunner(
        config.port,
        decoder_factory=lambda: decoder(config),
        poll_command=f"{config.poll_command}\r\n".encode(),
        poll_interval_s=config.poll_interval_s,
        capture_path=capture_path,
    )


TARE_COMMAND = b"T\r\n"
ZERO_COMMAND = b"Z\r\n"
