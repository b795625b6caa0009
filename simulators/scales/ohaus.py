"""Ohaus print/continuous lines (encoder only): ``-   12.73 kg ? NET`` style, ``?`` when unstable."""

from __future__ import annotations

from simulators.scales.platform import ScaleReading
from simulators.scales.stream import decimals_for


def encode(r: ScaleReading, division_kg: float) -> bytes:
    if r.status != "ok":
        return b" OL\r\n" if r.status == "overload" else b" UL\r\n"
    dec = decimals_for(division_kg)
    sign = "-" if r.value_kg < 0 else " "
    stability = " " if r.stable else "?"
    legend = "NET" if r.net else "G"
    return f"{sign} {abs(r.value_kg):>7.{dec}f} kg   {stability} {legend}\r\n".encode()
