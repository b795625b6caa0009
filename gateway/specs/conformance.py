"""Pure conformance of a lot measurement to a requirement spec: conformant / non_conformant /
insufficient_data, each with reasons. Missing data is never filled in: it makes the result insufficient.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from gateway.specs.model import Limit, RequirementSpec, effective_limits

# Lowest Br mass fraction among the regulated PBDE congeners (tetraBDE, C12H6Br4O: 4 x 79.904 / 485.8).
PBDE_MIN_BR_FRACTION = 0.658


def _stat(entry: dict[str, Any], basis: str) -> tuple[float | None, str]:
    order = {"max": ("max_ppm",), "p95": ("p95_ppm", "max_ppm"), "mean": ("mean_ppm",)}[basis]
    for key in order:
        value = entry.get(key)
        if isinstance(value, int | float):
            return float(value), key
    n, below = entry.get("n"), entry.get("n_below_lod")
    lod = entry.get("lod_ppm")
    if isinstance(n, int) and n > 0 and below == n and isinstance(lod, int | float):
        return float(lod), "lod_ppm (all below LOD)"
    return None, ""


def check_limit(limit: Limit, contaminants: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"check": f"{limit.analyte} <= {limit.max_ppm:g} mg/kg ({limit.basis})",
                           "analyte": limit.analyte, "limit_ppm": limit.max_ppm, "source": limit.source}
    entry = contaminants.get(limit.analyte)
    if limit.analyte == "PBDE" and not isinstance(entry, dict):
        return out | _pbde_from_br(limit, contaminants.get("Br"))
    if limit.analyte == "CrVI" and not isinstance(entry, dict) and isinstance(contaminants.get("Cr"), dict):
        return out | _crvi_from_total_cr(limit, contaminants["Cr"])
    if not isinstance(entry, dict):
        return out | {"result": "insufficient_data", "reason": f"no {limit.analyte} measurement for the lot"}
    lod = entry.get("lod_ppm")
    if isinstance(lod, int | float) and lod > limit.max_ppm:
        return out | {"result": "insufficient_data",
                      "reason": f"method LOD {lod:g} mg/kg is above the limit {limit.max_ppm:g} mg/kg"}
    value, used = _stat(entry, limit.basis)
    if value is None:
        return out | {"result": "insufficient_data", "reason": f"{limit.analyte}: no {limit.basis} value reported"}
    out["value_ppm"], out["statistic"], out["method"] = value, used, entry.get("method")
    if value > limit.max_ppm:
        return out | {"result": "non_conformant", "reason": f"{limit.analyte} {used} {value:g} > {limit.max_ppm:g}"}
    return out | {"result": "conformant", "reason": f"{limit.analyte} {used} {value:g} <= {limit.max_ppm:g}"}


def _pbde_from_br(limit: Limit, br: Any) -> dict[str, Any]:
    """Without a lab PBDE result, total Br bounds PBDE from above (all Br as the Br-poorest congener)."""
    if not isinstance(br, dict):
        return {"result": "insufficient_data", "reason": "no PBDE (GC-MS, IEC 62321-6) or Br screening result"}
    value, used = _stat(br, "max")
    if value is None:
        return {"result": "insufficient_data", "reason": "Br screening reported no maximum"}
    bound = value / PBDE_MIN_BR_FRACTION
    if bound <= limit.max_ppm:
        return {"result": "conformant", "value_ppm": round(bound, 3), "statistic": f"upper bound from Br {used}",
                "reason": f"Br {used} {value:g} mg/kg bounds PBDE <= {bound:.0f} <= {limit.max_ppm:g} mg/kg"}
    return {"result": "insufficient_data", "statistic": f"upper bound from Br {used}", "value_ppm": round(bound, 3),
            "reason": f"Br screening ({value:g} mg/kg) cannot exclude PBDE above {limit.max_ppm:g} mg/kg; "
                      "confirm by GC-MS (IEC 62321-6)"}


def _crvi_from_total_cr(limit: Limit, cr: dict[str, Any]) -> dict[str, Any]:
    """Total Cr (XRF) bounds Cr(VI) from above; above the limit only a speciation test can decide."""
    value, used = _stat(cr, "max")
    if value is None:
        return {"result": "insufficient_data", "reason": "total Cr screening reported no maximum"}
    if value <= limit.max_ppm:
        return {"result": "conformant", "value_ppm": value, "statistic": f"upper bound from total Cr {used}",
                "reason": f"total Cr {used} {value:g} mg/kg bounds Cr(VI) <= {limit.max_ppm:g} mg/kg"}
    return {"result": "insufficient_data", "value_ppm": value, "statistic": f"upper bound from total Cr {used}",
            "reason": f"total Cr {value:g} mg/kg cannot exclude Cr(VI) above {limit.max_ppm:g} mg/kg; "
                      "confirm by Cr(VI) speciation (IEC 62321-7)"}


def check_purity(spec: RequirementSpec, composition: Any) -> dict[str, Any] | None:
    if spec.min_purity is None:
        return None
    out: dict[str, Any] = {"check": f"{spec.material} mass share >= {spec.min_purity:.1%}", "analyte": spec.material}
    by_mass = composition.get("by_mass") if isinstance(composition, dict) else None
    entry = by_mass.get(spec.material) if isinstance(by_mass, dict) else None
    if not isinstance(entry, dict) or not isinstance(entry.get("share"), int | float):
        return out | {"result": "insufficient_data", "reason": f"no mass share of {spec.material} measured"}
    ci = entry.get("ci95")
    out["value"] = entry["share"]
    if not (isinstance(ci, list | tuple) and len(ci) == 2 and all(isinstance(x, int | float) for x in ci)):
        return out | {"result": "insufficient_data", "reason": "no 95 % confidence interval for the share"}
    out["ci95"] = list(ci)
    if ci[0] >= spec.min_purity:
        return out | {"result": "conformant", "reason": f"lower 95 % bound {ci[0]:.1%} >= {spec.min_purity:.1%}"}
    if ci[1] < spec.min_purity:
        return out | {"result": "non_conformant", "reason": f"upper 95 % bound {ci[1]:.1%} < {spec.min_purity:.1%}"}
    return out | {"result": "insufficient_data",
                  "reason": f"95 % interval {ci[0]:.1%}..{ci[1]:.1%} spans {spec.min_purity:.1%}: more objects needed"}


def conformance(spec: RequirementSpec, measurement: dict[str, Any], today: date) -> dict[str, Any]:
    """Overall: non_conformant if any check fails, else insufficient_data if any is open, else conformant."""
    measurement = measurement if isinstance(measurement, dict) else {}
    contaminants = measurement.get("contaminants") if isinstance(measurement.get("contaminants"), dict) else {}
    checks = [c for c in [check_purity(spec, measurement.get("composition"))] if c is not None]
    checks += [check_limit(limit, contaminants or {}) for limit in effective_limits(spec, today)]
    results = {c["result"] for c in checks}
    overall = ("non_conformant" if "non_conformant" in results else
               "insufficient_data" if "insufficient_data" in results or not checks else "conformant")
    return {"spec_id": spec.spec_id, "buyer": spec.buyer, "material": spec.material, "result": overall,
            "reasons": [c["reason"] for c in checks if c["result"] != "conformant"], "checks": checks}
