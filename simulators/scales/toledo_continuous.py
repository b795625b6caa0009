"""Toledo continuous 18-byte frames (encoder only): STX SWA SWB SWC weight tare CR CHK, 7-bit + even
parity bit set on the wire when ``parity=True`` (a 7E1 line read as 8 bits shows it in bit 7)."""

from __future__ import annotations

from simulators.scales.platform import ScaleReading
from simulators.scales.stream import decimals_for


def _even_parity(byte: int) -> int:
    return byte | 0x80 if bin(byte).count("1") % 2 else byte


def encode(r: ScaleReading, division_kg: float, tare_kg: float | None = None, parity: bool = False) -> bytes:
    """One frame; the tare digits are the indicator's tare (``r.tare_kg`` unless ``tare_kg`` is given)."""
    tare_kg = r.tare_kg if tare_kg is None else tare_kg
    dec = min(decimals_for(division_kg), 5)
    swa = 0x20 | (2 + dec)  # decimal position code: 2 = no decimals ... 7 = 5 decimals
    swa |= {1: 0x08, 2: 0x10, 5: 0x18}.get(round(division_kg * 10**dec), 0x08)
    swb = 0x20 | 0x10  # kg
    if r.net:
        swb |= 0x01
    if r.value_kg < 0:
        swb |= 0x02
    if r.status != "ok":
        swb |= 0x04 | (0x02 if r.status == "underload" else 0)
    if not r.stable:
        swb |= 0x08
    swc = 0x20
    scale = 10**dec
    weight = min(999999, round(abs(r.value_kg) * scale)) if r.status == "ok" else 0
    tare = min(999999, round(abs(tare_kg) * scale))
    body = bytes([0x02, swa, swb, swc]) + f"{weight:06d}{tare:06d}".encode() + b"\r"
    chk = (-sum(b & 0x7F for b in body)) & 0x7F
    frame = body + bytes([chk])
    return bytes(_even_parity(b) for b in frame) if parity else frame


def encode_7e1(r: ScaleReading, division_kg: float) -> bytes:
    return encode(r, division_kg, parity=True)
