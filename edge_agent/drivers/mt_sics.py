"""Mettler Toledo MT-SICS (request/response ASCII): balances and indicators on serial or TCP.

Replies to ``S``/``SI``/``SIR`` start with ``S`` (not the command name). ``S S`` is stable, ``S D``
dynamic; ``S +``/``S -`` over/underload and ``S I`` busy never carry a mass. ``ES``/``ET``/``EL`` are
whole-line errors (``ET`` usually means a baud/parity mismatch): weight readings with status ``error`` and
the meaning as ``reason`` (the runner also counts them as bad frames), never silence.

The weight in an ``S`` reply is net of the balance's tare, with nothing in the line saying so. The parser
learns the tare from the tare replies it sees (``T S``/``TI S`` after taring, ``TA A`` to a tare query,
``TAC A`` cleared): once known, weight readings carry ``data.mode`` net with ``data.tare_kg`` (or gross
when the tare is 0). ``query_tare`` adds a ``TA`` query to every poll so a tare keyed on the balance
itself is seen too; without it (and before the first tare reply) a reading has no mode.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from edge_agent.drivers.base import BadFrame, Decoded, DeviceConfigBase, DeviceReading
from edge_agent.drivers.lines import LineDecoder
from edge_agent.drivers.scale_base import no_mass
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
    query_tare: bool = Field(
        default=False, description="Send TA before every poll so a tare keyed on the balance is known and "
        "readings say net/gross (needs a balance that answers TA)."
    )
    division_kg: float = Field(default=0.02, gt=0, description="Scale division d (kg), for stability checks.")
    stable_frames: int = Field(default=3, ge=1, le=50, description="Consecutive stable frames within ±1 d.")


_ERRORS = {"ES": "syntax error", "ET": "transmission error", "EL": "logical error"}
_STATUS = {"+": ("overload", "overload (S +)"), "-": ("underload", "underload (S -)"),
           "I": ("error", "balance busy, no stable weight (S I)")}


class MtSicsParser:
    """Line parser with one piece of memory: the balance's tare, from the tare replies seen on the line."""

    def __init__(self) -> None:
        self.tare_kg: float | None = None  # None until a T/TI/TA/TAC reply says

    def __call__(self, text: str, raw: bytes) -> Decoded | None:
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
            data: dict[str, Any] = {}
            if self.tare_kg is not None:
                data = {"mode": "net", "tare_kg": self.tare_kg} if self.tare_kg else {"mode": "gross"}
            return DeviceReading(kind="weight", value=kg, unit="kg", stable=stable,
                                 status="ok" if stable else "unstable", data=data, raw=raw)
        if m := _STATUS_ONLY.match(line):
            status, reason = _STATUS[m.group(1)]
            return no_mass(status, raw, reason)  # type: ignore[arg-type]
        if line in _ERRORS:
            return no_mass("error", raw, f"device reported {line} ({_ERRORS[line]})")
        if line.startswith("S Error"):
            return no_mass("error", raw, f"device error: {line}")
        if m := _OTHER.match(line):
            self._note_tare(*m.groups())
            return DeviceReading(kind="info", data={"reply": line}, raw=raw)
        return BadFrame("unrecognised MT-SICS line", raw)

    def _note_tare(self, command: str, status: str, rest: str | None) -> None:
        if command == "TAC" and status == "A":
            self.tare_kg = 0.0
            return
        if (command, status) not in (("T", "S"), ("TI", "S"), ("TA", "A")) or not rest:
            return
        number, _, unit = rest.strip().rpartition(" ")
        value = parse_number(number)
        kg = to_kg(value, unit) if value is not None else None
        if kg is not None:
            self.tare_kg = round(kg, 9)


def parse_line(text: str, raw: bytes) -> Decoded | None:
    """One reply line without tare memory (tests, one-off decoding)."""
    return MtSicsParser()(text, raw)


def decoder(config: MtSicsConfig | None = None) -> LineDecoder:
    return LineDecoder(MtSicsParser())


def runner(config: MtSicsConfig, capture_path: Path | None = None) -> SerialRunner:
    return SerialRunner(
        config.port,
        decoder_factory=lambda: decoder(config),
        poll_command=(("TA\r\n" if config.query_tare else "") + f"{config.poll_command}\r\n").encode(),
        poll_interval_s=config.poll_interval_s,
        capture_path=capture_path,
    )


TARE_COMMAND = b"T\r\n"
ZERO_COMMAND = b"Z\r\n"
