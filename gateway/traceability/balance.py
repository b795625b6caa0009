"""Mass balance arithmetic (pure): per step and per period, against a tolerance on input mass."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Balance:
    input_kg: float
    output_kg: float
    declared_loss_kg: float
    unaccounted_kg: float
    tolerance: float
    ok: bool
    reason: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def balance(input_kg: float, output_kg: float, declared_loss_kg: float, tolerance: float) -> Balance:
    """Unaccounted = in - out - declared losses; more than ``tolerance`` x in (either sign) is a violation."""
    unaccounted = input_kg - output_kg - declared_loss_kg
    allowed = tolerance * input_kg
    reason = None
    if input_kg <= 0:
        reason = "no input mass"
    elif unaccounted < -allowed:
        reason = (f"outputs + losses exceed inputs by {-unaccounted:.3f} kg "
                  f"({-unaccounted / input_kg:.2%} > {tolerance:.2%})")
    elif unaccounted > allowed:
        reason = f"{unaccounted:.3f} kg unaccounted ({unaccounted / input_kg:.2%} > {tolerance:.2%})"
    return Balance(round(input_kg, 6), round(output_kg, 6), round(declared_loss_kg, 6), round(unaccounted, 6),
                   tolerance, reason is None, reason)
