"""Pure conformance of a lot measurement to a requirement spec: conformant / non_conformant /
insufficient_data, each with reasons. Missing data is never filled in: it makes the result insufficient.

PBDE and PBB: a lab confirmation (GC-MS, IEC 62321-6) is used in preference; without one, XRF total Br
bounds each from above, all Br counted as the Br-poorest regulated congener (``PBDE_MIN_BR_FRACTION``,
``PBB_MIN_BR_FRACTION``); a bound above the limit stays ``insufficient_data``.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from gateway.specs.lab import PBB_GROUPS, PBDE_GROUPS, LabConfirmation, group_sum_bounds, pops_pbde_bounds
from gateway.specs.model import Limit, RequirementSpec, effective_limits
from junkan.core.censored import BOUND_SUFFIX, contaminant_bound
from junkan.core.evidence import Check, ConformanceResult
from junkan.core.measurement_model import Composition, Contaminant, Measurement

# IUPAC standard atomic weights (conventional values, CIAAW): C 12.011, H 1.008, O 15.999, Br 79.904.
_C, _H, _O, _BR = 12.011, 1.008, 15.999, 79.904


def br_fraction(n_br: int, ether: bool) -> float:
    """Br mass fraction of a brominated biphenyl C12H(10-n)Br(n) or diphenyl ether C12H(10-n)Br(n)O:

        w(Br) = n * A(Br) / (12 * A(C) + (10 - n) * A(H) + n * A(Br) [+ A(O) for the ether])

    Exact, never rounded: a rounded-up fraction would make every "upper bound" Br / w(Br) too low.
    """
    mass = 12 * _C + (10 - n_br) * _H + n_br * _BR + (_O if ether else 0.0)
    return n_br * _BR / mass


# Lowest Br mass fraction among the regulated PBDE congeners. The POPs PBDE limit is on tetra- to decaBDE,
# so the Br-poorest is tetraBDE, C12H6Br4O: 319.616 / 485.795 = 0.657924 (RoHS PBDE also counts mono- to
# triBDE; the RoHS check uses the monoBDE fraction below).
PBDE_MIN_BR_FRACTION = br_fraction(4, ether=True)
# RoHS regulates all PBBs (mono- to decaBB); the Br-poorest is monobromobiphenyl C12H9Br:
# 79.904 / 233.108 = 0.342777 (regulation.md §4), so PBB <= Br / 0.342777 = 2.917 x Br.
PBB_MIN_BR_FRACTION = br_fraction(1, ether=False)
# monoBDE C12H9BrO: 79.904 / 249.107 = 0.320762, for the RoHS PBDE (mono- to deca-) bound.
PBDE_ALL_MIN_BR_FRACTION = br_fraction(1, ether=True)
Result = Literal["conformant", "non_conformant", "insufficient_data"]


def _stat(entry: Contaminant, basis: str) -> tuple[float | None, float | None, str]:
    """(point value, upper bound, statistic name) of ``basis`` for a limit. The upper bound differs from the
    point value when '<LOD' readings may lie above it (``censored.contaminant_bound``): a limit is conformant
    only at or above the bound, non-conformant only below the point value, else undecidable."""
    order = {"max": ("max_ppm",), "p95": ("p95_ppm", "max_ppm"), "mean": ("mean_ppm",)}[basis]
    if entry.n > 0 and entry.n_below_lod == entry.n and entry.lod_ppm is not None:
        return float(entry.lod_ppm), float(entry.lod_ppm), "lod_ppm (all below LOD)"
    for key in order:
        value = getattr(entry, key)
        bound = contaminant_bound(entry, key.removesuffix("_ppm"))
        if bound is not None:
            return (None if value is None else float(value)), float(bound), key.removesuffix("_ppm") + BOUND_SUFFIX
        if value is not None:
            return float(value), float(value), key
    return None, None, ""


def _bounded(value: float | None, upper: float, used: str) -> str:
    """How a censored bound reads in a reason: "max bound (LOD) 15 (highest '<LOD' LOD, KM/detect 9)"."""
    point = f", KM/detect {value:g}" if value is not None else ""
    return f"{used} {upper:g}" if upper == value else f"{used} {upper:g} (highest '<LOD' LOD{point})"


def _limit(limit: Limit, result: Result, reason: str, value_ppm: float | None = None, statistic: str | None = None,
           method: str | None = None) -> Check:
    return Check(check=f"{limit.analyte} <= {limit.max_ppm:g} mg/kg ({limit.basis})", analyte=limit.analyte,
                 limit_ppm=limit.max_ppm, source=limit.source, value_ppm=value_ppm, statistic=statistic,
                 method=method, result=result, reason=reason)


def check_limit(limit: Limit, contaminants: dict[str, Contaminant], lab: LabConfirmation | None = None) -> Check:
    entry = contaminants.get(limit.analyte)
    if limit.analyte in ("PBDE", "PBB") and lab is not None and (found := _from_lab(limit, lab)) is not None:
        return found
    if limit.analyte == "PBDE" and entry is None:
        return _pbde_from_br(limit, contaminants.get("Br"))
    if limit.analyte == "PBB" and entry is None:
        return _from_br(limit, contaminants.get("Br"), "PBB", PBB_MIN_BR_FRACTION)
    if limit.analyte == "CrVI" and entry is None and "Cr" in contaminants:
        return _crvi_from_total_cr(limit, contaminants["Cr"])
    if entry is None:
        return _limit(limit, "insufficient_data", f"no {limit.analyte} measurement for the lot")
    if entry.lod_ppm is not None and entry.lod_ppm > limit.max_ppm:
        return _limit(limit, "insufficient_data",
                      f"method LOD {entry.lod_ppm:g} mg/kg is above the limit {limit.max_ppm:g} mg/kg")
    value, upper, used = _stat(entry, limit.basis)
    if upper is None:
        return _limit(limit, "insufficient_data", f"{limit.analyte}: no {limit.basis} value reported")
    if value is not None and value > limit.max_ppm:
        return _limit(limit, "non_conformant", f"{limit.analyte} {used.removesuffix(BOUND_SUFFIX)} {value:g} > "
                      f"{limit.max_ppm:g}", value, used.replace(BOUND_SUFFIX, "_ppm"), entry.method)
    if upper > limit.max_ppm:
        return _limit(limit, "insufficient_data", f"{limit.analyte} {limit.basis} up to {upper:g} > "
                      f"{limit.max_ppm:g}: {entry.n_below_lod} readings '<LOD' (LOD up to {entry.lod_ppm:g}) "
                      f"may exceed the limit", upper, used, entry.method)
    return _limit(limit, "conformant", f"{limit.analyte} {_bounded(value, upper, used)} <= {limit.max_ppm:g}",
                  upper, used, entry.method)


def _from_lab(limit: Limit, lab: LabConfirmation) -> Check | None:
    """The lab's PBDE (POPs: the five Annex I groups; RoHS: all congeners) or PBB sum against ``limit``; None
    when the lab did not report the group (the Br bound then applies). Below-LOD results count as the LOD."""
    results = {r.analyte: r for r in lab.results}
    if limit.analyte == "PBB":
        lo, hi, missing = group_sum_bounds(results, "PBB", PBB_GROUPS)
    elif "RoHS" in limit.source:
        lo, hi, missing = group_sum_bounds(results, "PBDE", PBDE_GROUPS)
    else:
        lo, hi, missing = pops_pbde_bounds(results)
    if missing:
        return None
    method = f"{lab.method}, {lab.lab}, {lab.analysed_on.isoformat()}"
    if lo > limit.max_ppm:
        return _limit(limit, "non_conformant", f"lab {limit.analyte} {lo:g} mg/kg > {limit.max_ppm:g} mg/kg "
                      f"({lab.confirmation_id})", round(lo, 3), "lab sum (measured)", method)
    if hi > limit.max_ppm:
        return _limit(limit, "insufficient_data", f"lab {limit.analyte} up to {hi:g} mg/kg with LODs counted "
                      f"> {limit.max_ppm:g} mg/kg ({lab.confirmation_id})", round(hi, 3), "lab sum (LOD counted)",
                      method)
    return _limit(limit, "conformant", f"lab {limit.analyte} <= {hi:g} <= {limit.max_ppm:g} mg/kg "
                  f"({lab.confirmation_id})", round(hi, 3), "lab sum (LOD counted)", method)


def _pbde_from_br(limit: Limit, br: Contaminant | None) -> Check:
    """Without a lab PBDE result, total Br bounds PBDE from above (all Br as the Br-poorest congener)."""
    fraction = PBDE_ALL_MIN_BR_FRACTION if "RoHS" in limit.source else PBDE_MIN_BR_FRACTION
    return _from_br(limit, br, "PBDE", fraction)


def _from_br(limit: Limit, br: Contaminant | None, group: str, fraction: float) -> Check:
    """Total Br bounds ``group`` from above: all Br as its Br-poorest regulated congener (mass fraction
    ``fraction``). The Br maximum is used (limits are per homogeneous material, i.e. per flake); when every
    reading is below the LOD, the LOD bounds it."""
    if br is None:
        return _limit(limit, "insufficient_data", f"no {group} (GC-MS, IEC 62321-6) or Br screening result")
    _, value, used = _stat(br, "max")  # the upper bound: '<LOD' readings count at their LOD
    if value is None:
        return _limit(limit, "insufficient_data", "Br screening reported no maximum")
    bound = value / fraction
    if bound <= limit.max_ppm:
        return _limit(limit, "conformant", f"Br {used} {value:g} mg/kg bounds {group} <= {bound:.0f} <= "
                      f"{limit.max_ppm:g} mg/kg", bound, f"upper bound from Br {used}")
    return _limit(limit, "insufficient_data", f"Br screening ({value:g} mg/kg) cannot exclude {group} above "
                  f"{limit.max_ppm:g} mg/kg; confirm by GC-MS (IEC 62321-6)", bound,
                  f"upper bound from Br {used}")


def _crvi_from_total_cr(limit: Limit, cr: Contaminant) -> Check:
    """Total Cr (XRF) bounds Cr(VI) from above; above the limit only a speciation test can decide."""
    _, value, used = _stat(cr, "max")  # the upper bound: '<LOD' readings count at their LOD
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


def conformance(spec: RequirementSpec, measurement: Measurement | None, today: date,
                lab: LabConfirmation | None = None) -> ConformanceResult:
    """Overall: non_conformant if any check fails, else insufficient_data if any is open, else conformant.
    ``lab``: the lot's lab confirmation, used for PBDE/PBB in preference to the Br bound."""
    contaminants = measurement.contaminants if measurement is not None else {}
    checks = [c for c in [check_purity(spec, measurement.composition if measurement else None)] if c is not None]
    checks += [check_limit(limit, contaminants, lab) for limit in effective_limits(spec, today)]
    results = {c.result for c in checks}
    overall: Result = ("non_conformant" if "non_conformant" in results else
                       "insufficient_data" if "insufficient_data" in results or not checks else "conformant")
    return ConformanceResult(spec_id=spec.spec_id, buyer=spec.buyer, material=spec.material, result=overall,
                             reasons=[c.reason for c in checks if c.result != "conformant"], checks=checks)
