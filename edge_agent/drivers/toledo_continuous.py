"""Toledo continuous output: the 18-byte STX frame that most indicators emulate.

``STX SWA SWB SWC W5..W0 T5..T0 CR CHK`` (weight and tare as 6 digits without sign or point).

* SWA bits 0-2: decimal position, value = digits x 10^(2 - code) (000 x100 ... 111 x1e-5); bits 3-4
  increment size (x1/x2/x5, informational); bit 5 always 1.
* SWB bit 0 net, bit 1 negative, bit 2 out of range (over/under), bit 3 motion, bit 4 kg (else lb),
  bit 5 always 1, bit 6 power-up not yet zeroed.
* SWC bits 0-2 unit: 000 lb/kg per SWB bit 4, 001 g, 010 metric t, 011 oz; bit 3 print request,
  bit 4 expanded display (reported, value unchanged), bit 5 always 1.
* SWB bit 0 set: the weight is net (a tare is keyed on the indicator): ``data.mode`` net and, in the
  18-byte form, ``data.tare_kg`` from the tare digits (same decimal position and unit as the weight).
* CHK: two's complement of the 7-bit sum of all preceding bytes (incl. STX and CR), so the low 7 bits
  of all 18 bytes sum to 0 mod 128. **A frame failing the checksum never yields a weight.**

Bit 7 is masked (parity on 7E1 links). The decoder resynchronises on STX: bytes before the first STX
(attached mid-stream) are skipped and counted as one bad frame, and after a broken frame it restarts at
the next STX inside it. ``tare_field``/``checksum`` configure the short variants (Cardinal formats).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from edge_agent.drivers.base import BadFrame, Decoded, DeviceReading
from edge_agent.drivers.scale_base import ScaleConfigBase, no_mass, scale_runner, weight
from edge_agent.drivers.serial_port import SerialPortConfig, SerialRunner

STX, CR = 0x02, 0x0D
_UNITS = {1: "g", 2: "t", 3: "oz"}


class ToledoPortConfig(SerialPortConfig):
    """Serial line with the usual continuous-output setting (9600 7E1)."""

    bytesize: Literal[7, 8] = Field(default=7, description="Data bits (continuous output is usually 7E1).")
    parity: Literal["N", "E", "O"] = Field(default="E", description="Parity (usually even).")


class ToledoContinuousConfig(ScaleConfigBase):
    """An indicator sending Toledo continuous frames (Mettler, Ohaus, Rice Lake, Cardinal, Fairbanks ...)."""

    type: Literal["toledo_continuous"] = Field(description="Driver key.")
    port: ToledoPortConfig = Field(description="Serial/TCP connection (usually 9600 7E1).")
    tare_field: bool = Field(default=True, description="Frames carry the 6 tare digits (18-byte form).")
    checksum: bool = Field(default=True, description="Frames end with the checksum byte after CR.")


def frame_length(tare_field: bool = True, checksum: bool = True) -> int:
    return 1 + 3 + 6 + (6 if tare_field else 0) + 1 + (1 if checksum else 0)


def checksum_ok(frame: bytes) -> bool:
    return sum(b & 0x7F for b in frame) & 0x7F == 0


def _digits(field: bytes) -> int | None:
    text = field.decode("ascii").replace(" ", "0")  # some indicators blank leading zeros
    return int(text) if text.isdigit() else None


def parse_frame(frame: bytes, has_tare: bool = True, has_checksum: bool = True) -> Decoded:
    """One complete, parity-masked frame starting with STX -> a weight reading or a bad frame."""
    if has_checksum and not checksum_ok(frame):
        return BadFrame("checksum mismatch", frame)
    swa, swb, swc = frame[1], frame[2], frame[3]
    if not (swa & swb & swc & 0x20):
        return BadFrame("status bytes lack the always-1 bit 5", frame)
    cr_at = 10 + (6 if has_tare else 0)
    if frame[cr_at] != CR:
        return BadFrame("no CR where the frame should end", frame)
    digits = _digits(frame[4:10])
    if digits is None:
        return BadFrame("weight field is not 6 digits", frame)
    if swb & 0x04:
        under = bool(swb & 0x02)
        return no_mass("underload" if under else "overload", frame,
                       f"out of range ({'under' if under else 'over'}, SWB bit 2)")
    if swb & 0x40:  # power-up, not yet zeroed: the weight is not trustworthy
        return no_mass("error", frame, "power-up, not yet zeroed (SWB bit 6)")
    code = swc & 0x07
    unit = _UNITS.get(code) if code else ("kg" if swb & 0x10 else "lb")
    if unit is None:
        return BadFrame(f"unsupported unit code {code}", frame)
    factor = 10.0 ** (2 - (swa & 0x07))
    value = digits * factor
    if swb & 0x02:
        value = -value
    net = bool(swb & 0x01)
    tare: float | None = None
    if net and has_tare:
        tare_digits = _digits(frame[10:16])
        if tare_digits is None:
            return BadFrame("tare field is not 6 digits", frame)
        tare = round(tare_digits * factor, 6)
    reading = weight(round(value, 6), unit, not swb & 0x08, frame, "net" if net else "gross", tare)
    assert reading is not None  # every unit in _UNITS is a mass
    return reading


class ToledoDecoder:
    """Streaming frame finder: resync on STX, verify, decode."""

    def __init__(self, tare_field: bool = True, checksum: bool = True) -> None:
        self.tare_field, self.checksum = tare_field, checksum
        self.length = frame_length(tare_field, checksum)
        self._buf = bytearray()
        self._resyncing = False  # skipping towards the next STX after a reported bad frame

    def _skip(self, n: int, reason: str, out: list[Decoded]) -> None:
        if not self._resyncing:
            out.append(BadFrame(reason, bytes(self._buf[:n][-64:])))
            self._resyncing = True
        del self._buf[:n]

    def feed(self, chunk: bytes) -> list[Decoded]:
        self._buf.extend(b & 0x7F for b in chunk)
        out: list[Decoded] = []
        while True:
            start = self._buf.find(STX)
            if start < 0:
                if self._buf:
                    self._skip(len(self._buf), "bytes without STX skipped (attached mid-stream?)", out)
                return out
            if start > 0:
                self._skip(start, "bytes before STX skipped (attached mid-stream?)", out)
            if len(self._buf) < self.length:
                return out
            frame = bytes(self._buf[: self.length])
            try:
                result = parse_frame(frame, self.tare_field, self.checksum)
            except Exception as exc:  # a parser bug is a bad frame, never an escaped exception
                result = BadFrame(f"parser error: {exc!r}", frame)
            if isinstance(result, DeviceReading):
                out.append(result)
                self._resyncing = False
                del self._buf[: self.length]
            else:  # broken frame: report once, then look for a later STX inside it
                out.append(result)
                self._resyncing = True
                del self._buf[:1]


def decoder(config: ToledoContinuousConfig | None = None) -> ToledoDecoder:
    if config is None:
        return ToledoDecoder()
    return ToledoDecoder(config.tare_field, config.checksum)


def runner(config: ToledoContinuousConfig, capture_path: Path | None = None) -> SerialRunner:
    return scale_runner(config, config.port, lambda: decoder(config), capture_path)
