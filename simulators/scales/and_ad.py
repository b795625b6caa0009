"""A&D balance/indicator frames (encoder only; see edge_agent/drivers/and_ad.py for the facts).

``indicator=False``: 15-char balance frame ``ST,+001234.5  g`` (here in kg: ``ST,+00123.45 kg``);
``indicator=True``: two headers ``ST,GS,+0012.34kg``. Out of range: ``OL`` with 9s.
"""

from __future__ import annotations

from simulators.scales.platform import ScaleReading
from simulators.scales.stream import decimals_for


def encode(r: ScaleReading, division_kg: float, indicator: bool = False) -> bytes:
    dec = decimals_for(division_kg)
    if r.status != "ok":
        sign = "-" if r.status == "underload" else "+"
        data = sign + ("9" * 8 if dec == 0 else "9" * (7 - dec) + "." + "9" * dec)
        return (f"OL,GS,{data}kg\r\n" if indicator else f"OL,{data} kg\r\n").encode()
    head = "ST" if r.stable else "US"
    sign = "-" if r.value_kg < 0 else "+"
    number = f"{abs(r.value_kg):0{9 if dec == 0 else 8}.{dec}f}"  # 8 characters incl. the point
    if indicator:
        return f"{head},{'NT' if r.net else 'GS'},{sign}{number}kg\r\n".encode()
    return f"{head},{sign}{number} kg\r\n".encode()


def encode_indicator(r: ScaleReading, division_kg: float) -> bytes:
    return encode(r, division_kg, indicator=True)
