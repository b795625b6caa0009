"""Pure conformance of a lot measurement to a requirement spec: conformant / non_conformant /
insufficient_data, each with reasons. Missing data is never filled in: it makes the result insufficient.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from gateway.specs.model import Limit, RequirementSpec, effective_limits
from junkan.core.evidence import Check, ConformanceResult
from junkan.core.measurement_model import Composition, Contaminant, Measurement

# Lowest Br mass fraction among the regulated PBDE congeners (tetraBDE, C12H6Br4O: 4 x 79.904 / 485.8).
PBDE_MIN_BR_FRACTION = 0.658
Result = Literal["conformant", "non_conformant", "insufficient_data"]


def _stat(entry: Contaminant, basis: str) -> tuple[float | None, str]:
    order = {"max": ("max_ppm",), "p95": ("p95_ppm", "max_ppm"), "mean": ("mean_ppm",)}[basis]
    for key in order:
        value = getattr(entry, key)
        if value is not None:
            return float(value), key
    if entry.n > 0 and entry.n_below_lod == entry.n and entry.lod_ppm is not None:
        return float(entry.lod_ppm), "lod_ppm (all below LOD)"
    return None, ""


def _limit(limit: Limit, result: Result, reason: str, value_ppm: float | None = None, statistic: str | None = None,
           method: str | None = None) -> Check:
    return Check(check=f"{limit.analyte} <= {limit.max_ppm:g} mg/kg ({limit.basis})", analyte=limit.analyte,
                 limit_ppm=limit.max_ppm, source=limit.source, value_ppm=value_ppm, statistic=statistic,
                 method=method, result=result, reason=reason)


def check_limit(limit: Limit, contaminants: dict[str, Contaminant]) -> Check:
    entry = contaminants.get(limit.analyte)
    if limit.analyte == "PBDE" and entry is None:
        return _pbde_from_br(limit, contaminants.get("Br"))
    if limit.analyte == "CrVI" and entry is None and "Cr" in contaminants:
        return _crvi_from_total_cr(limit, contaminants["Cr"])
    if entry is None:
        return _limit(limit, "insufficient_data", f"no {limit.analyte} measurement for the lot")
    if entry.lod_ppm is not None and entry.lod_ppm > limit.max_ppm:
        return _limit(limit, "insufficient_data",
                      f"method LOD {entry.lod_ppm:g} mg/kg is above the limit {limit.max_ppm:g} mg/kg")
    value, used = _stat(entry, limit.basis)
    if value is None:
        return _limit(limit, "insufficient_data", f"{limit.analyte}: no {limit.basis} value reported")
    if value > limit.max_ppm:
        return _limit(limit, "non_conformant", f"{limit.analyte} {used} {value:g} > {limit.max_ppm:g}", value, used,
                      entry.method)
    return _limit(limit, "conformant", f"{limit.analyte} {used} {value:g} <= {limit.max_ppm:g}", value, used,
                  entry.method)


def _pbde_from_br(limit: Limit, br: Contaminant | None) -> Check:
    """Without a lab PBDE result, total Br bounds PBDE from above (all Br as the Br-poorest congener)."""
    if br is None:
        return _limit(limit, "insufficient_data", "no PBDE (GC-MS, IEC 62321-6) or Br screening result")
    value, used = _stat(br, "max")
    if value is None:
        return _limit(limit, "insufficient_data", "Br screening reported no maximum")
    bound = value / PBDE_MIN_BR_FRACTION
    if bound <= limit.max_ppm:
        return _limit(limit, "conformant", f"Br {used} {value:g} mg/kg bounds PBDE <= {bound:.0f} <= "
                      f"{limit.max_ppm:g} mg/kg", round(bound, 3), f"upper bound from Br {used}")
    return _limit(limit, "insufficient_data", f"Br screening ({value:g} mg/kg) cannot exclude PBDE above "
                  f"{limit.max_ppm:g} mg/kg; confirm by GC-MS (IEC 62321-6)", round(bound, 3),
                  f"upper bound from Br {used}")


def _crvi_from_total_cr(limit: Limit, cr: Contaminant) -> Check:
    """Total Cr (XRF) bounds Cr(VI) from above; above the limit only a speciation test can decide."""
    value, used = _stat(cr, "max")
    if value is None:
        return _limit(limit, "insufficient_data", "total Cr screening reported no maximum")
    if value <= limit.max_ppm:
        return _limit(limit, "conformant", f"total Cr {used} {value:g} mg/kg bounds Cr(VI) <= {limit.max_ppm:g} "
                      "mg/kg", value, f"upper bound from total Cr {used}")
    return _limit(limit, "insufficient_data", f"total Cr {value:g} mg/kg cannot exclude Cr(VI) above "
                  f"{limit.max_ppm:g} mg/kg; confirm by Cr(VI) speciation (IEC 62321-7)", value,
                  f"upper bound from total Cr {used}")


def check_purity(spec: RequirementSpec, composition: Composition | None) -> Check | None:
    if spec.min_purity is None:
        return None
    name = f"{spec.material} mass share >= {spec.min_purity:.1%}"
    entry = composition.by_mass.get(spec.material) if composition is not None else None
    if entry is None:
        return Check(check=name, analyte=spec.material, result="insufficient_data",
                     reason=f"no mass share of {spec.material} measured")
    lo, hi = entry.ci95
    if lo >= spec.min_purity:
        result: Result = "conformant"
        reason = f"lower 95 % bound {lo:.1%} >= {spec.min_purity:.1%}"
    elif hi < spec.min_purity:
        result, reason = "non_conformant", f"upper 95 % bound {hi:.1%} < {spec.min_purity:.1%}"
    else:
        result = "insufficient_data"
        reason = f"95 % interval {lo:.1%}..{hi:.1%} spans {spec.min_purity:.1%}: more objects needed"
    return Check(check=name, analyte=spec.material, value=entry.share, ci95=entry.ci95, result=result, reason=reason)


def conformance(spec: RequirementSpec, measurement: Measurement | None, today: date) -> ConformanceResult:
    """Overall: non_conformant if any check fails, else insufficient_data if any is open, else conformant."""
    contaminants = measurement.contaminants if measurement is not None else {}
    checks = [c for c in [check_purity(spec, measurement.composition if measurement else None)] if c is not None]
    checks += [check_limit(limit, contaminants) for limit in effective_limits(spec, today)]
    results = {c.result for c in checks}
    overall: Result = ("non_conformant" if "non_conformant" in results else
                       "insufficient_data" if "insufficient_data" in results or not checks else "conformant")
    return ConformanceResult(spec_id=spec.spec_id, buyer=spec.buyer, material=spec.material, result=overall,
                             reasons=[c.reason for c in checks if c.result != "conformant"], checks=checks)
