"""Pure conformance of a lot measurement to a requirement spec: conformant / non_conformant /
insufficient_data, each with reasons. Missing data is never filled in: it makes the result insufficient.

PBDE and PBB: a lab confirmation (GC-MS, IEC 62321-6) is used in preference; without one, XRF total Br
bounds each from above, all Br counted as the Br-poorest regulated congener (``PBDE_MIN_BR_FRACTION``,
``PBB_MIN_BR_FRACTION``); a bound above the limit stays ``insufficient_data``.
"""

from __future__ import annotations

from datetime import date

from gateway.specs.lab import (
    PBB_GROUPS,
    PBDE_GROUPS,
    LabConfirmation,
    Result,
    group_sum_bounds,
    pops_pbde_bounds,
)
from gateway.specs.model import Limit, RequirementSpec, effective_limits
from gateway.specs.reason_text import reason, text
from junkan.core.censored import BOUND_SUFFIX, contaminant_bound
from junkan.core.evidence import Check, ConformanceResult, Reason
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


def _bounded(analyte: str, value: float | None, upper: float, used: str, limit: float) -> Reason:
    """A conformant limit, saying when the figure is a censored bound: "max bound (LOD) 15 (highest '<LOD'
    LOD, KM/detect 9) <= 20"."""
    figures = {"analyte": analyte, "stat": used, "upper": upper, "limit": limit}
    if upper == value:
        return reason("limit.ok", **figures)
    if value is None:
        return reason("limit.ok_bound", **figures)
    return reason("limit.ok_bound_km", value=value, **figures)


def _limit(limit: Limit, result: Result, why: Reason, value_ppm: float | None = None, statistic: str | None = None,
           method: str | None = None) -> Check:
    name = reason("check.limit", analyte=limit.analyte, limit=limit.max_ppm, basis=limit.basis)
    return Check(check=text(name), analyte=limit.analyte, limit_ppm=limit.max_ppm, source=limit.source,
                 value_ppm=value_ppm, statistic=statistic, method=method, result=result, reason=text(why),
                 reason_code=why, check_code=name)


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
    analyte, top = limit.analyte, limit.max_ppm
    if entry is None:
        return _limit(limit, "insufficient_data", reason("limit.no_measurement", analyte=analyte))
    if entry.lod_ppm is not None and entry.lod_ppm > top:
        return _limit(limit, "insufficient_data", reason("limit.lod_above_limit", lod=entry.lod_ppm, limit=top))
    value, upper, used = _stat(entry, limit.basis)
    if upper is None:
        return _limit(limit, "insufficient_data", reason("limit.no_value", analyte=analyte, basis=limit.basis))
    if value is not None and value > top:
        return _limit(limit, "non_conformant", reason("limit.exceeded", analyte=analyte,
                                                      stat=used.removesuffix(BOUND_SUFFIX), value=value, limit=top),
                      value, used.replace(BOUND_SUFFIX, "_ppm"), entry.method)
    if upper > top:
        return _limit(limit, "insufficient_data", reason("limit.censored_open", analyte=analyte, basis=limit.basis,
                                                         upper=upper, limit=top, n_below=entry.n_below_lod,
                                                         lod=entry.lod_ppm), upper, used, entry.method)
    return _limit(limit, "conformant", _bounded(analyte, value, upper, used, top), upper, used, entry.method)


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
    figures = {"analyte": limit.analyte, "limit": limit.max_ppm, "confirmation": lab.confirmation_id}
    if lo > limit.max_ppm:
        return _limit(limit, "non_conformant", reason("limit.lab_exceeded", lo=lo, **figures), round(lo, 3),
                      "lab sum (measured)", method)
    if hi > limit.max_ppm:
        return _limit(limit, "insufficient_data", reason("limit.lab_open", hi=hi, **figures), round(hi, 3),
                      "lab sum (LOD counted)", method)
    return _limit(limit, "conformant", reason("limit.lab_ok", hi=hi, **figures), round(hi, 3),
                  "lab sum (LOD counted)", method)


def _pbde_from_br(limit: Limit, br: Contaminant | None) -> Check:
    """Without a lab PBDE result, total Br bounds PBDE from above (all Br as the Br-poorest congener)."""
    fraction = PBDE_ALL_MIN_BR_FRACTION if "RoHS" in limit.source else PBDE_MIN_BR_FRACTION
    return _from_br(limit, br, "PBDE", fraction)


def _from_br(limit: Limit, br: Contaminant | None, group: str, fraction: float) -> Check:
    """Total Br bounds ``group`` from above: all Br as its Br-poorest regulated congener (mass fraction
    ``fraction``). The Br maximum is used (limits are per homogeneous material, i.e. per flake); when every
    reading is below the LOD, the LOD bounds it."""
    if br is None:
        return _limit(limit, "insufficient_data", reason("limit.br_none", group=group))
    _, value, used = _stat(br, "max")  # the upper bound: '<LOD' readings count at their LOD
    if value is None:
        return _limit(limit, "insufficient_data", reason("limit.br_no_max"))
    bound = value / fraction
    if bound <= limit.max_ppm:
        return _limit(limit, "conformant", reason("limit.br_bounds", stat=used, value=value, group=group,
                                                  bound=bound, limit=limit.max_ppm), bound,
                      f"upper bound from Br {used}")
    return _limit(limit, "insufficient_data", reason("limit.br_cannot_exclude", value=value, group=group,
                                                     limit=limit.max_ppm), bound, f"upper bound from Br {used}")


def _crvi_from_total_cr(limit: Limit, cr: Contaminant) -> Check:
    """Total Cr (XRF) bounds Cr(VI) from above; above the limit only a speciation test can decide."""
    _, value, used = _stat(cr, "max")  # the upper bound: '<LOD' readings count at their LOD
    if value is None:
        return _limit(limit, "insufficient_data", reason("limit.cr_no_max"))
    if value <= limit.max_ppm:
        return _limit(limit, "conformant", reason("limit.cr_bounds", stat=used, value=value, limit=limit.max_ppm),
                      value, f"upper bound from total Cr {used}")
    return _limit(limit, "insufficient_data", reason("limit.cr_cannot_exclude", value=value, limit=limit.max_ppm),
                  value, f"upper bound from total Cr {used}")


def check_purity(spec: RequirementSpec, composition: Composition | None) -> Check | None:
    if spec.min_purity is None:
        return None
    name = reason("check.purity", material=spec.material, min=spec.min_purity)
    entry = composition.by_mass.get(spec.material) if composition is not None else None
    if entry is None:
        why = reason("purity.none", material=spec.material)
        return Check(check=text(name), analyte=spec.material, result="insufficient_data", reason=text(why),
                     reason_code=why, check_code=name)
    lo, hi = entry.ci95
    result: Result
    if lo >= spec.min_purity:
        result, why = "conformant", reason("purity.ok", lo=lo, min=spec.min_purity)
    elif hi < spec.min_purity:
        result, why = "non_conformant", reason("purity.below", hi=hi, min=spec.min_purity)
    else:
        result, why = "insufficient_data", reason("purity.open", lo=lo, hi=hi, min=spec.min_purity)
    return Check(check=text(name), analyte=spec.material, value=entry.share, ci95=entry.ci95, result=result,
                 reason=text(why), reason_code=why, check_code=name)


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
    failed = [c for c in checks if c.result != "conformant"]
    return ConformanceResult(spec_id=spec.spec_id, buyer=spec.buyer, material=spec.material, result=overall,
                             reasons=[c.reason for c in failed], checks=checks,
                             reason_codes=[c.reason_code for c in failed if c.reason_code is not None])
