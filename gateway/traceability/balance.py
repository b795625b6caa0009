"""Mass balance arithmetic (pure): per step and per period, against a tolerance on input mass."""

from __future__ import annotations

from gateway.traceability.rows import Balance


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
    return Balance(input_kg=round(input_kg, 6), output_kg=round(output_kg, 6),
                   declared_loss_kg=round(declared_loss_kg, 6), unaccounted_kg=round(unaccounted, 6),
                   tolerance=tolerance, ok=reason is None, reason=reason)
