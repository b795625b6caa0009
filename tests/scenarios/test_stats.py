"""Statistics behind the lot measurement: known values, and coverage checked by seeded simulation."""

from __future__ import annotations

import math
import random

import pytest

from junkan.core.stats import ShareSums, km_fraction_above, km_left_censored, mean_ci, ratio_share, wilson


def test_wilson_known_values() -> None:
    # Reference values: Newcombe (1998) table / statsmodels proportion_confint(method="wilson").
    lo, hi = wilson(5, 10)
    assert lo == pytest.approx(0.2366, abs=1e-4) and hi == pytest.approx(0.7634, abs=1e-4)
    lo, hi = wilson(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-4)
    lo, hi = wilson(81, 263)
    assert lo == pytest.approx(0.2553, abs=1e-4) and hi == pytest.approx(0.3662, abs=1e-4)


def test_wilson_without_trials_is_uninformative() -> None:
    assert wilson(0, 0) == (0.0, 1.0)


def test_wilson_coverage_by_simulation() -> None:
    rng = random.Random(7)
    p, n, hits, reps = 0.05, 120, 0, 2000
    for _ in range(reps):
        k = sum(1 for _ in range(n) if rng.random() < p)
        lo, hi = wilson(k, n)
        hits += lo <= p <= hi
    assert 0.93 <= hits / reps <= 0.975


def _sample_pieces(rng: random.Random, n: int) -> tuple[ShareSums, ShareSums, list[tuple[str, float]]]:
    pieces = []
    for _ in range(n):
        cls = "PP" if rng.random() < 0.9 else "PE"
        size = rng.uniform(10, 40) * (1.3 if cls == "PE" else 1.0)
        pieces.append((cls, 0.001 * size * size))
    pp = [m for c, m in pieces if c == "PP"]
    part = ShareSums(len(pp), sum(pp), sum(m * m for m in pp))
    total = ShareSums(n, sum(m for _, m in pieces), sum(m * m for _, m in pieces))
    return part, total, pieces


def test_ratio_share_point_estimate_is_mass_weighted() -> None:
    part = ShareSums(1, 3.0, 9.0)
    total = ShareSums(2, 4.0, 10.0)
    share, (lo, hi) = ratio_share(part, total)
    assert share == pytest.approx(0.75)
    assert 0.0 <= lo < 0.75 < hi <= 1.0


def test_ratio_share_coverage_of_population_mass_share() -> None:
    """A population of pieces, samples of 300: the interval covers the population's mass share ~95 %."""
    rng = random.Random(11)
    _, _, population = _sample_pieces(rng, 50_000)
    true_share = sum(m for c, m in population if c == "PP") / sum(m for _, m in population)
    hits, widths, reps = 0, [], 600
    for _ in range(reps):
        sample = rng.sample(population, 300)
        pp = [m for c, m in sample if c == "PP"]
        _share, (lo, hi) = ratio_share(ShareSums(len(pp), sum(pp), sum(m * m for m in pp)),
                                      ShareSums(300, sum(m for _, m in sample), sum(m * m for _, m in sample)))
        hits += lo <= true_share <= hi
        widths.append(hi - lo)
    assert 0.92 <= hits / reps <= 0.98
    assert sum(widths) / reps < 0.15  # not made wide to buy coverage (Wilson on counts here: ~0.08)


def test_ratio_share_zero_class_still_has_upper_bound() -> None:
    share, (lo, hi) = ratio_share(ShareSums(0, 0.0, 0.0), ShareSums(300, 300.0, 400.0))
    assert share == 0.0 and lo == pytest.approx(0.0, abs=1e-12) and 0.005 < hi < 0.02


def test_km_without_censoring_is_the_plain_sample() -> None:
    values = [3.0, 1.0, 2.0, 10.0, 4.0]
    km = km_left_censored(values, [False] * 5)
    assert km.mean == pytest.approx(4.0)
    assert km.max_detected == 10.0 and km.p95 == 10.0 and km.n_censored == 0


def test_km_multiple_lods_worked_example() -> None:
    # <1, 2, <3, 4, 5: F jumps 0.3 at 2, 0.2 at 4, 0.2 at 5; 0.3 stays below 2 (from '<1' and '<3').
    km = km_left_censored([1.0, 2.0, 3.0, 4.0, 5.0], [True, False, True, False, False])
    assert km.mean_bounds == pytest.approx((2.4, 2.7))
    assert km.mean == pytest.approx(2.55)
    assert km.p95 == 5.0 and km.n_censored == 2


def test_km_never_treats_lod_as_zero_or_as_detect() -> None:
    values = [5.0] * 8 + [100.0, 200.0]
    cens = [True] * 8 + [False, False]
    km = km_left_censored(values, cens)
    assert km.mean_bounds is not None
    lo, hi = km.mean_bounds
    assert lo == pytest.approx(30.0) and hi == pytest.approx(34.0)
    assert lo < km.mean < hi  # neither zero-substitution nor LOD-substitution
    assert km.p95 == 200.0 and km.max_detected == 200.0


def test_km_all_censored_has_no_percentile_or_max() -> None:
    km = km_left_censored([5.0, 5.0, 8.0], [True, True, True])
    assert km.p95 is None and km.max_detected is None and km.mean_bounds == (0.0, 6.0)


def test_km_p95_below_lod_is_none() -> None:
    km = km_left_censored([5.0] * 19 + [50.0], [True] * 19 + [False])
    assert km.p95 is None


def test_fraction_above_and_mean_ci() -> None:
    values, cens = [5.0, 2500.0, 100.0, 3000.0], [True, False, False, False]
    assert km_fraction_above(values, cens, 2000) == 0.5
    assert km_fraction_above(values, cens, 1.0) == 1.0  # '<5' may be above 1 ppm: counted as above
    lo, hi = mean_ci(100.0, 10.0, 100)
    assert lo == pytest.approx(98.04, abs=0.01) and hi == pytest.approx(101.96, abs=0.01)
    assert mean_ci(1.0, None, 1)[1] == math.inf
