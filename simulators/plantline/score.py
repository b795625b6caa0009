"""Fidelity of lot measurements against the scenario truth (pure): mass, composition, CI coverage, Br flags."""

from __future__ import annotations

from typing import Any, Literal

from junkan.core.measurement_model import Composition, Measurement, read_measurement

BR_LIMIT = 2000.0


UNFLAGGED_TOLERANCE_PCT = 0.1


def score_lot(truth: dict[str, Any], m: Measurement | None, net_mass_kg: float) -> dict[str, Any]:
    """One lot: errors, interval hits, Br flag. ``m`` is the stored measurement (None: the lot has none)."""
    true_mass = truth["net_mass_kg"]
    row: dict[str, Any] = {"lot_id": truth["lot_id"], "true_mass_kg": true_mass, "mass_kg": net_mass_kg,
                           "mass_error_pct": 100 * (net_mass_kg - true_mass) / true_mass if true_mass else None}
    comp = m.composition if m is not None else None
    if comp is not None and comp.n_objects:
        all_pieces = _composition(truth.get("polymer_mass_fractions", {}), comp, "ci95_all_pieces")
        visible = _composition(truth.get("polymer_mass_fractions_visible", {}), comp, "ci95")
        row.update(polymer_error_pp=all_pieces[0], ci_hits=all_pieces[1], ci_n=all_pieces[2],
                   ci_width_pp_mean=all_pieces[3], polymer_error_pp_visible=visible[0], ci_hits_visible=visible[1],
                   ci_n_visible=visible[2], ci_width_pp_mean_visible=visible[3])
    else:
        row.update(polymer_error_pp=None, ci_hits=0, ci_n=0, ci_width_pp_mean=None, polymer_error_pp_visible=None,
                   ci_hits_visible=0, ci_n_visible=0, ci_width_pp_mean_visible=None)
    br = m.contaminants.get("Br") if m is not None else None
    thr = br.thresholds.get("2000") if br is not None else None
    row["true_br_ppm"] = truth.get("elements_ppm", {}).get("Br")
    row["br_mean_ppm"] = br.mean_ppm if br is not None else None
    row["br_flag"] = thr.flag if thr else None
    row["br_precautionary_flag"] = thr.precautionary_flag if thr else None
    row["br_status"] = thr.status if thr else None
    row["br_flag_rule"] = thr.flag_rule if thr else None
    row["br_true_above"] = row["true_br_ppm"] is not None and row["true_br_ppm"] > BR_LIMIT
    row["degraded"] = [d.device for d in m.devices.degraded] if m is not None else []
    row["missing"] = list(m.devices.missing) if m is not None else []
    return row


def _composition(fractions: dict[str, float], comp: Composition, key: Literal["ci95", "ci95_all_pieces"]
                 ) -> tuple[float, int, int, float]:
    """Max error (pp), interval hits, intervals, mean width (pp) of one lot against one truth.

    A polymer the measurement never saw has share 0 and the interval [0, upper bound of an unseen class].
    ``key`` picks the interval; measurements without it fall back to ``ci95``.
    """
    upper0 = comp.unobserved_ci95_upper
    blind = comp.blind_mass_share_range
    errors, hits, widths = [], 0, []
    for polymer in sorted(set(fractions) | set(comp.by_mass)):
        true = fractions.get(polymer, 0.0)
        got = comp.by_mass.get(polymer)
        if got is None:
            share, (lo, hi) = 0.0, (0.0, upper0 + (blind[1] if blind and key == "ci95_all_pieces" else 0.0))
        else:
            share = got.share
            lo, hi = (got.ci95_all_pieces if key == "ci95_all_pieces" else None) or got.ci95
        errors.append(abs(share - true) * 100)
        hits += lo <= true <= hi
        widths.append((hi - lo) * 100)
    return max(errors), hits, len(errors), sum(widths) / len(widths)


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Over all scored lots; recall is None when no lot is truly above the Br limit."""
    masses = [abs(r["mass_error_pct"]) for r in rows if r["mass_error_pct"] is not None]
    polys = [r["polymer_error_pp"] for r in rows if r["polymer_error_pp"] is not None]
    ci_n = sum(r["ci_n"] for r in rows)
    widths = [r["ci_width_pp_mean"] for r in rows if r["ci_width_pp_mean"] is not None]
    pos = [r for r in rows if r["br_true_above"]]
    neg = [r for r in rows if not r["br_true_above"]]
    neg_det = [r for r in neg if r.get("br_status") != "indeterminate"]
    ci_vis = sum(r.get("ci_hits_visible", 0) for r in rows)
    ci_n_vis = sum(r.get("ci_n_visible", 0) for r in rows)
    widths_vis = [r["ci_width_pp_mean_visible"] for r in rows if r.get("ci_width_pp_mean_visible") is not None]
    polys_vis = [r["polymer_error_pp_visible"] for r in rows if r.get("polymer_error_pp_visible") is not None]
    rules = sorted({r["br_flag_rule"] for r in rows if r.get("br_flag_rule")})
    unflagged = [abs(r["mass_error_pct"]) for r in rows
                 if r["mass_error_pct"] is not None and not r.get("degraded") and not r.get("missing")]
    return {
        "lots": len(rows),
        "mass_error_pct_max": max(masses) if masses else None,
        "polymer_error_pp_max": max(polys) if polys else None,
        "lots_flagged": sum(1 for r in rows if r.get("degraded") or r.get("missing")),
        "mass_error_pct_max_unflagged": max(unflagged) if unflagged else None,
        # The rule above all: a lot whose mass is off by more than 0.1 % must say so (degraded/missing).
        "unflagged_wrong_lots": sum(1 for u in unflagged if u > UNFLAGGED_TOLERANCE_PCT),
        "lots_with_composition": len(polys),
        "composition_truth": ("all pieces of the lot (NIR-blind included); intervals: ci95_all_pieces "
                              "(falls back to ci95)"),
        "ci_coverage": sum(r["ci_hits"] for r in rows) / ci_n if ci_n else None,
        "ci_intervals": ci_n,
        "ci_width_pp_mean": sum(widths) / len(widths) if widths else None,
        "polymer_error_pp_max_visible": max(polys_vis) if polys_vis else None,
        "ci_coverage_visible": ci_vis / ci_n_vis if ci_n_vis else None,
        "ci_width_pp_mean_visible": sum(widths_vis) / len(widths_vis) if widths_vis else None,
        "br_flag_rule": rules[0] if len(rules) == 1 else rules,
        "br_lots_above": len(pos),
        "br_flag_recall": _share(pos, "br_flag"),
        "br_false_flag_rate": _share(neg, "br_flag"),
        "br_indeterminate_lots": sum(1 for r in rows if r.get("br_status") == "indeterminate"),
        "br_false_flag_rate_excl_indeterminate": _share(neg_det, "br_flag"),
        "br_precautionary_recall": _share(pos, "br_precautionary_flag"),
        "br_precautionary_false_flag_rate": _share(neg, "br_precautionary_flag"),
        "br_precautionary_false_flag_rate_excl_indeterminate": _share(neg_det, "br_precautionary_flag"),
    }


def _share(rows: list[dict[str, Any]], key: str) -> float | None:
    return sum(1 for r in rows if r.get(key)) / len(rows) if rows else None


def score(truth: list[dict[str, Any]], stored: dict[str, dict[str, Any]]) -> tuple[list[dict[str, Any]], dict]:
    """Score every truth lot that the gateway has closed; ``stored`` maps lot id -> lot row."""
    rows = []
    for t in truth:
        lot = stored.get(t["lot_id"])
        if lot is None or lot.get("status") != "closed":
            continue
        rows.append(score_lot(t, read_measurement(lot.get("measurement")), float(lot.get("net_mass_kg") or 0.0)))
    summary = summarise(rows)
    summary["truth_lots"] = len(truth)
    summary["truth_lots_not_closed_at_gateway"] = len(truth) - len(rows)
    return rows, summary
