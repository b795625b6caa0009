"""Sartorius SBI frames (encoder only). 16-char ``+  123.56 kg `` form, or 22-char with an ID prefix.

Unstable frames leave the unit field blank, as the balances do; ``H``/``L`` for over/underload. With the
ID (``with_id``, what an indicator keeping gross and net sends) ``N`` marks net (tare keyed), ``G#`` gross.
"""

from __future__ import annotations

from simulators.scales.platform import ScaleReading
from simulators.scales.stream import decimals_for


def encode(r: ScaleReading, division_kg: float, with_id: bool = False) -> bytes:
    if r.status == "overload":
        body = "H"
    elif r.status == "underload":
        body = "L"
    else:
        dec = decimals_for(division_kg)
        sign = "-" if r.value_kg < 0 else "+"
        unit = "kg " if r.stable else "   "
        body = f"{sign} {abs(r.value_kg):>8.{dec}f} {unit}"
        if with_id:
            body = f"{'N' if r.net else 'G#':<6}{body}"
    return f"{body}\r\n".encode()


def encode_with_id(r: ScaleReading, division_kg: float) -> bytes:
    return encode(r, division_kg, with_id=True)
