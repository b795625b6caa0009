"""Small, dependency-free statistics for lot measurements (pure functions, no I/O).

- Proportions: Wilson score interval (good coverage at small n and near 0/1, unlike the Wald interval).
- Mass shares from sampled pieces: ratio estimator sum(m_k)/sum(m) with a linearisation (Taylor) variance,
  turned into an interval by Wilson with the effective sample size (Korn & Graubard 1998), so a share of 0
  still gets a non-zero upper bound.
- Left-censored concentrations ("<LOD"): Kaplan-Meier on flipped data (Helsel, Statistics for Censored
  Environmental Data, 2012). Censored values are never replaced by 0 in the estimate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Z95 = 1.959963984540054
Z95_ONE_SIDED = 1.6448536269514722
FLAG_RULE = ("flag: lot mean (Kaplan-Meier) above the limit, i.e. P(mean > limit) > 0.5; status indeterminate "
             "when the 95 % CI of the mean straddles the limit; precautionary_flag: one-sided 95 % upper bound "
             "above the limit; no XRF data: flagged")


def wilson(k: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for k successes in n trials (k may be fractional, e.g. p * n_eff)."""
    if n <= 0:
        return (0.0, 1.0)
    p = min(1.0, max(0.0, k / n))
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class ShareSums:
    """Sufficient statistics of one class among sampled pieces: count, sum of masses, sum of squares."""

    n: int
    s1: float
    s2: float


def ratio_share(part: ShareSums, total: ShareSums, z: float = Z95, piece_cv: float = 0.0,
                extra_var: float = 0.0) -> tuple[float, tuple[float, float]]:
    """Mass share of a class and its CI from per-piece estimated masses (ratio estimator).

    Var(R) ~ sum_i (m_i y_i - R m_i)^2 / (n (n-1) mbar^2), which expands to the sums kept per class.
    ``piece_cv``: relative scatter of a piece's true mass around its estimate (thickness, shape), which
    inflates each squared residual by (1 + cv^2). ``extra_var``: variance of systematic errors (mass-model
    calibration, see ``factor_share_var``) added to the sampling variance.
    The interval is Wilson at the effective sample size n_eff = R(1-R)/Var(R); at R in {0, 1} n_eff = n.
    """
    n = total.n
    if n == 0 or total.s1 <= 0:
        return (0.0, (0.0, 1.0))
    r = part.s1 / total.s1
    if n < 2 or r <= 0.0 or r >= 1.0:
        return (r, wilson(r * n, n, z))
    mbar = total.s1 / n
    resid = (1 - r) ** 2 * part.s2 + r * r * (total.s2 - part.s2)
    var = resid * (1 + piece_cv * piece_cv) / (n * (n - 1) * mbar * mbar) + max(0.0, extra_var)
    n_eff = n if var <= 0 else min(float(n), r * (1 - r) / var)
    return (r, wilson(r * n_eff, n_eff, z))


def ratio_var(part: ShareSums, total: ShareSums, piece_cv: float = 0.0) -> tuple[float, float]:
    """Ratio estimate and its linearisation variance (see ``ratio_share``); variance 0 when undefined."""
    n = total.n
    if n < 2 or total.s1 <= 0:
        return (part.s1 / total.s1 if total.s1 > 0 else 0.0, 0.0)
    r = part.s1 / total.s1
    mbar = total.s1 / n
    resid = (1 - r) ** 2 * part.s2 + r * r * (total.s2 - part.s2)
    return r, resid * (1 + piece_cv * piece_cv) / (n * (n - 1) * mbar * mbar)


def share_interval(share: float, observed: float, var: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Interval of a corrected ``share`` whose pieces were seen at the ``observed`` share with variance ``var``.

    Wilson at the effective sample size n_eff = q(1-q)/var around the observed share, shifted by the
    correction (``share - observed``): this keeps Wilson's skew for rare classes, so a class seen only
    through a few misreads keeps a lower bound of 0 and an upper bound above it.
    """
    if n <= 0:
        return (0.0, 1.0)
    q = min(max(observed, 1.0 / n), 1 - 1.0 / n) if n > 1 else 0.5
    n_eff = float(n) if var <= 0 else min(float(n), q * (1 - q) / var)
    lo, hi = wilson(observed * n_eff, n_eff, z)
    return (max(0.0, share - (observed - lo)), min(1.0, share + (hi - observed)))


def factor_share_var(shares: dict[str, float], rel_sd: dict[str, float]) -> dict[str, float]:
    """Delta-method variance of each share R_p = F_p / sum F when every class factor f_q (grams per size^2)
    carries an independent relative error u_q: Var(R_p) = R_p^2 [(1-R_p)^2 u_p^2 + sum_{q!=p} R_q^2 u_q^2].

    Calibration errors are common to every piece of a class, so they do not average out with n; this is
    why they are added to, not folded into, the sampling variance.
    """
    out = {}
    for p, rp in shares.items():
        s = sum((rq * rel_sd.get(q, 0.0)) ** 2 for q, rq in shares.items() if q != p)
        out[p] = rp * rp * ((1 - rp) ** 2 * rel_sd.get(p, 0.0) ** 2 + s)
    return out


@dataclass(frozen=True)
class Censored:
    """Kaplan-Meier summary of a left-censored sample."""

    n: int
    n_censored: int
    mean: float | None  # residual mass below the lowest detect at half of its LOD
    mean_bounds: tuple[float, float] | None  # residual at 0 / at the lowest detect (or LOD)
    p95: float | None  # None when the 95th percentile is itself below a LOD
    max_detected: float | None
    sd: float | None  # with censored values at LOD/2; for the standard error of the mean only


def km_left_censored(values: Sequence[float], censored: Sequence[bool]) -> Censored:
    """Summarise values where ``censored[i]`` means "below values[i]" (values[i] is then the LOD)."""
    n = len(values)
    n_cens = sum(1 for c in censored if c)
    if n == 0:
        return Censored(0, 0, None, None, None, None, None)
    detects = sorted({v for v, c in zip(values, censored, strict=True) if not c})
    subst = [v / 2 if c else v for v, c in zip(values, censored, strict=True)]
    sd = _sd(subst)
    if not detects:
        return Censored(n, n_cens, sum(subst) / n, (0.0, sum(values) / n), None, None, sd)
    # F(t) = P(X <= t) = prod over detects t_j > t of (1 - d_j / n_j), with n_j = obs known to be <= t_j.
    steps: list[tuple[float, float]] = []  # (t_j, jump of F at t_j)
    f_above = 1.0
    for t in reversed(detects):
        d = sum(1 for v, c in zip(values, censored, strict=True) if not c and v == t)
        at_risk = sum(1 for v in values if v <= t)  # detects <= t and "<LOD" with LOD <= t
        factor = 1 - d / at_risk if at_risk else 0.0
        steps.append((t, f_above * (1 - factor)))
        f_above *= factor
    residual = f_above  # probability mass below the lowest detect (all from censored values)
    body = sum(t * w for t, w in steps)
    lowest = detects[0]
    lods_below = [v for v, c in zip(values, censored, strict=True) if c and v <= lowest]
    place_hi = min(lowest, max(lods_below)) if lods_below else lowest
    mean = body + residual * place_hi / 2
    bounds = (body, body + residual * place_hi)
    cdf = residual
    p95: float | None = None
    if cdf < 0.95:
        for t, w in sorted(steps):
            cdf += w
            if cdf >= 0.95 - 1e-12:
                p95 = t
                break
        else:
            p95 = detects[-1]
    return Censored(n, n_cens, mean, bounds, p95, detects[-1], sd)


def km_fraction_above(values: Sequence[float], censored: Sequence[bool], threshold: float) -> float:
    """Share of the population above ``threshold``; a "<LOD" with LOD <= threshold is below it.

    A censored value whose LOD exceeds the threshold is undecidable; it is counted as above (conservative).
    """
    n = len(values)
    if n == 0:
        return 0.0
    above = sum(1 for v, c in zip(values, censored, strict=True) if v > threshold)
    return above / n


def mean_ci(mean: float, sd: float | None, n: int, z: float = Z95) -> tuple[float, float]:
    """Normal-approximation interval of a mean (sd from the sample); wide open when n < 2."""
    if n < 2 or sd is None:
        return (0.0, math.inf)
    se = sd / math.sqrt(n)
    return (max(0.0, mean - z * se), mean + z * se)


def _sd(xs: Sequence[float]) -> float | None:
    n = len(xs)
    if n < 2:
        return None
    m = sum(xs) / n
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (n - 1))


def threshold_decision(mean: float | None, sd: float | None, n: int, threshold: float,
                       mean_range: tuple[float, float] | None = None) -> dict[str, Any]:
    """Is the lot mean above a limit? A decision (``flag``), a status and the old precautionary flag.

    flag: the point estimate is above the limit, i.e. P(true mean > limit) > 0.5 (normal approximation).
    status: "above" / "below" when the two-sided 95 % interval of the mean is clear of the limit,
    "indeterminate" when it straddles it (worth a re-test), "no_data" without readings (flagged: a lot
    that was never checked cannot be released). precautionary_flag: one-sided 95 % upper bound above the
    limit (flags every indeterminate lot; the rule used before).

    ``mean_range``: the lot mean with every censored value at 0 and at its LOD. Censored data decide
    nothing by themselves: "below" needs the mean below the limit even with each "<LOD" at its LOD, "above"
    even with each at 0; otherwise the status is "indeterminate" (e.g. Cd "<795 ppm" against 100 ppm).
    """
    if not n or mean is None:
        return {"flag": True, "status": "no_data", "p_above": None, "precautionary_flag": True,
                "flag_rule": FLAG_RULE}
    ucl = mean_ci(mean, sd, n, Z95_ONE_SIDED)[1]
    lo2, hi2 = mean_ci(mean, sd, n)
    se = (ucl - mean) / Z95_ONE_SIDED if math.isfinite(ucl) else math.inf
    if se == 0:
        p_above = 1.0 if mean > threshold else 0.0
    elif math.isinf(se):
        p_above = 0.5
    else:
        p_above = 0.5 * (1 + math.erf((mean - threshold) / (se * math.sqrt(2))))
    if lo2 > threshold:
        status = "above"
    elif hi2 <= threshold:
        status = "below"
    else:
        status = "indeterminate"
    if mean_range is not None and ((status == "below" and mean_range[1] > threshold)
                                   or (status == "above" and mean_range[0] <= threshold)):
        status, p_above = "indeterminate", 0.5  # only where the censored values lie below their LODs decides
    return {"flag": bool(mean > threshold), "status": status, "p_above": round(p_above, 4),
            "precautionary_flag": bool(ucl > threshold), "flag_rule": FLAG_RULE}
