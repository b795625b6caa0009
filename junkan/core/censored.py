"""One rendering of left-censored XRF statistics, for the dashboard, the evidence HTML and the PDF.

Why: the Kaplan-Meier mean of a lot whose readings were all '<LOD' is only a placement of the residue
(1/2 LOD), not a measured value; showing "Br mean 2 ppm" there said more than the data. Every view calls
``ppm_text`` so they cannot disagree.
"""

from __future__ import annotations

from typing import Any

NO_VALUE = "–"


def ppm_text(value: float | None, n: int | None, n_below_lod: int | None, lod_ppm: float | None) -> str:
    """A mean, p95 or max in mg/kg: '<LOD (x)' when every reading was below the LOD (or the statistic itself
    is censored), '–' without readings, else the number with thousands separators."""
    if not n:
        return NO_VALUE
    below = n_below_lod or 0
    censored = below >= n or (value is None and below > 0)
    if censored:
        return f"<LOD ({lod_ppm:,.4g})" if lod_ppm is not None else "<LOD"
    return NO_VALUE if value is None else f"{value:,.0f}"


def contaminant_texts(c: Any) -> dict[str, str]:
    """mean / p95 / max of a contaminant object (measurement or evidence model) through ``ppm_text``."""
    n, below, lod = getattr(c, "n", None), getattr(c, "n_below_lod", None), getattr(c, "lod_ppm", None)
    return {k: ppm_text(getattr(c, f"{k}_ppm", None), n, below, lod) for k in ("mean", "p95", "max")}
