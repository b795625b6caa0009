"""Fidelity of lot measurements against the scenario truth (pure): mass, composition, CI coverage, Br flags."""

from __future__ import annotations

from typing import Any

BR_LIMIT = 2000.0


def score_lot(truth: dict[str, Any], m: dict[str, Any], net_mass_kg: float) -> dict[str, Any]:
    """One lot: errors, interval hits, Br flag. ``m`` is the stored ``measurement``."""
    true_mass = truth["net_mass_kg"]
    row: dict[str, Any] = {"lot_id": truth["lot_id"], "true_mass_kg": true_mass, "mass_kg": net_mass_kg,
                           "mass_error_pct": 100 * (net_mass_kg - true_mass) / true_mass if true_mass else None}
    comp = (m or {}).get("composition") or {}
    by_mass = comp.get("by_mass") or {}
    fractions = truth.get("polymer_mass_fractions", {})
    if comp.get("n_objects"):
        upper0 = comp.get("unobserved_ci95_upper", 1.0)
        errors, hits, widths = [], 0, []
        for polymer in sorted(set(fractions) | set(by_mass)):
            true = fractions.get(polymer, 0.0)
            got = by_mass.get(polymer, {"share": 0.0, "ci95": [0.0, upper0]})
            errors.append(abs(got["share"] - true) * 100)
            lo, hi = got["ci95"]
            hits += lo <= true <= hi
            widths.append((hi - lo) * 100)
        row.update(polymer_error_pp=max(errors), ci_hits=hits, ci_n=len(errors),
                   ci_width_pp_mean=sum(widths) / len(widths))
    else:
        row.update(polymer_error_pp=None, ci_hits=0, ci_n=0, ci_width_pp_mean=None)
    br = ((m or {}).get("contaminants") or {}).get("Br") or {}
    thr = (br.get("thresholds") or {}).get("2000")
    row["true_br_ppm"] = truth.get("elements_ppm", {}).get("Br")
    row["br_mean_ppm"] = br.get("mean_ppm")
    row["br_flag"] = bool(thr["flag"]) if thr else None
    row["br_true_above"] = row["true_br_ppm"] is not None and row["true_br_ppm"] > BR_LIMIT
    row["degraded"] = [d["device"] for d in ((m or {}).get("devices") or {}).get("degraded", [])]
    row["missing"] = ((m or {}).get("devices") or {}).get("missing", [])
    return row


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Over all scored lots; recall is None when no lot is truly above the Br limit."""
    masses = [abs(r["mass_error_pct"]) for r in rows if r["mass_error_pct"] is not None]
    polys = [r["polymer_error_pp"] for r in rows if r["polymer_error_pp"] is not None]
    ci_n = sum(r["ci_n"] for r in rows)
    widths = [r["ci_width_pp_mean"] for r in rows if r["ci_width_pp_mean"] is not None]
    pos = [r for r in rows if r["br_true_above"]]
    neg = [r for r in rows if not r["br_true_above"]]
    return {
        "lots": len(rows),
        "mass_error_pct_max": max(masses) if masses else None,
        "polymer_error_pp_max": max(polys) if polys else None,
        "lots_with_composition": len(polys),
        "ci_coverage": sum(r["ci_hits"] for r in rows) / ci_n if ci_n else None,
        "ci_intervals": ci_n,
        "ci_width_pp_mean": sum(widths) / len(widths) if widths else None,
        "br_lots_above": len(pos),
        "br_flag_recall": sum(1 for r in pos if r["br_flag"]) / len(pos) if pos else None,
        "br_false_flag_rate": sum(1 for r in neg if r["br_flag"]) / len(neg) if neg else None,
    }


def score(truth: list[dict[str, Any]], stored: dict[str, dict[str, Any]]) -> tuple[list[dict[str, Any]], dict]:
    """Score every truth lot that the gateway has closed; ``stored`` maps lot id -> lot row."""
    rows = []
    for t in truth:
        lot = stored.get(t["lot_id"])
        if lot is None or lot.get("status") != "closed":
            continue
        rows.append(score_lot(t, lot.get("measurement") or {}, float(lot.get("net_mass_kg") or 0.0)))
    summary = summarise(rows)
    summary["truth_lots"] = len(truth)
    return rows, summary
