"""Weight units and number formats as indicators print them, normalised to kilograms."""

from __future__ import annotations

_TO_KG = {
    "kg": 1.0,
    "g": 1e-3,
    "mg": 1e-6,
    "t": 1000.0,
    "lb": 0.45359237,
    "oz": 0.028349523125,
}


def to_kg(value: float, unit: str) -> float | None:
    """Convert a mass to kg; None when the unit is not a mass (pieces, %, N ...)."""
    factor = _TO_KG.get(unit.strip().lower())
    return None if factor is None else value * factor


def parse_number(text: str) -> float | None:
    """Parse an indicator's number: spaces inside, leading '+', decimal comma accepted; None if not a number."""
    cleaned = text.replace(" ", "").replace(",", ".")
    if not cleaned or cleaned.count(".") > 1:
        return None
    try:
        number = float(cleaned)
    except ValueError:
        return None
    if number != number or number in (float("inf"), float("-inf")):
        return None
    return number
