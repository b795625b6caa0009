"""One rendering and one upper bound of left-censored XRF statistics, for the conformance checks, the
dashboard, the evidence HTML and the PDF.

Why: the Kaplan-Meier mean of a lot whose readings were all '<LOD' is only a placement of the residue
(1/2 LOD), not a measured value; showing "Br mean 2 ppm" there said more than the data. Likewise a
'<LOD 15' reading may be anywhere up to 15, so with detects only up to 9 the lot's maximum is "<= 15", not
9. Every view and every limit check goes through this module so they cannot disagree.
"""

from __future__ import annotations

from typing import Any

NO_VALUE = "–"
BOUND_SUFFIX = " bound (LOD)"  # statistic name of a censored upper bound: "max bound (LOD)" etc.


def stat_bound(value: float | None, basis: str, n: int | None, n_below_lod: int | None, lod_ppm: float | None,
               mean_low_ppm: float | None = None) -> float | None:
    """Upper bound of a lot statistic (``basis`` mean / p95 / max) when '<LOD' readings (highest LOD
    ``lod_ppm``) may lie above it; None when no censored reading can exceed ``value`` (it then stands).

    - max: max(highest detect, highest LOD).
    - p95: max(Kaplan-Meier p95, highest LOD): above the highest LOD no reading is censored, so there the
      KM distribution is the empirical one of every completion of the data; a p95 below a LOD (null) is
      bounded by that LOD.
    - mean: every '<LOD' at the highest LOD on top of the detects, whose sum/n is at most the KM mean with
      the residual at 0 (``mean_low_ppm``: KM only moves censored mass onto detects below its LOD), and
      never above the bounded max.
    """
    below = n_below_lod or 0
    if not n or not below or lod_ppm is None:
        return None
    if basis == "mean":
        cap = lod_ppm if value is None else None
        if mean_low_ppm is not None:
            cap = mean_low_ppm + below * lod_ppm / n
        return None if cap is None else round(cap, 1)
    if value is not None and value >= lod_ppm:
        return None
    return lod_ppm


def contaminant_bound(c: Any, basis: str) -> float | None:
    """``stat_bound`` of a contaminant object (measurement or evidence model), the max bound capping the
    mean's."""
    n, below, lod = getattr(c, "n", None), getattr(c, "n_below_lod", None), getattr(c, "lod_ppm", None)
    bounds = getattr(c, "mean_bounds_ppm", None)
    bound = stat_bound(getattr(c, f"{basis}_ppm", None), basis, n, below, lod, bounds[0] if bounds else None)
    if basis == "mean" and bound is not None:
        top = getattr(c, "max_ppm", None)
        cap = max(top if top is not None else 0.0, lod if lod is not None else 0.0)
        bound = min(bound, cap) if cap else bound
        mean = getattr(c, "mean_ppm", None)
        if mean is not None and bound <= mean:
            return None
    return bound


def ppm_text(value: float | None, n: int | None, n_below_lod: int | None, lod_ppm: float | None,
             bound: float | None = None) -> str:
    """A mean, p95 or max in mg/kg: '<LOD (x)' when every reading was below the LOD (or the statistic itself
    is censored), '<= x (LOD)' when '<LOD' readings may exceed it (``bound``; ASCII: the PDF base fonts lack
    the sign), '–' without readings, else the number with thousands separators."""
    if not n:
        return NO_VALUE
    below = n_below_lod or 0
    if below >= n:
        return f"<LOD ({lod_ppm:,.4g})" if lod_ppm is not None else "<LOD"
    if bound is not None and (value is None or bound > value):
        return f"<= {bound:,.4g} (LOD)"
    if value is None and below > 0:
        return f"<LOD ({lod_ppm:,.4g})" if lod_ppm is not None else "<LOD"
    return NO_VALUE if value is None else f"{value:,.0f}"


def contaminant_texts(c: Any) -> dict[str, str]:
    """mean / p95 / max of a contaminant object (measurement or evidence model) through ``ppm_text``; max and
    p95 show their LOD bound where censored readings may exceed them (the mean stays the KM estimate, its
    bound is the checks' business)."""
    n, below, lod = getattr(c, "n", None), getattr(c, "n_below_lod", None), getattr(c, "lod_ppm", None)
    return {k: ppm_text(getattr(c, f"{k}_ppm", None), n, below, lod,
                        contaminant_bound(c, k) if k != "mean" else None) for k in ("mean", "p95", "max")}
