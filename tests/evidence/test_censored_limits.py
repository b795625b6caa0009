"""Limits are judged on what the readings bound, not on the detects alone, and the Br -> PBB/PBDE bounds use
the exact Br mass fractions. Expected values are re-derived here from the stored fields and the published
atomic weights (IUPAC: C 12.011, H 1.008, O 15.999, Br 79.904), never from the code under test."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from gateway.specs.conformance import conformance
from gateway.specs.model import Limit, RequirementSpec
from gateway.specs.screening import screen
from junkan.core.censored import contaminant_texts
from junkan.core.evidence import SubstancesDeclared
from junkan.core.measurement_model import Contaminant, Measurement
from tests.measurements import wire_measurement

DAY = date(2026, 6, 1)  # POPs PBDE limit for articles from recovered material: 350 mg/kg
NONE_DECLARED = SubstancesDeclared(status="complete", record_coverage_share=1.0, models_without_record=[],
                                   substances=[])
MONO_BB = 79.904 / (12 * 12.011 + 9 * 1.008 + 79.904)  # C12H9Br
TETRA_BDE = 4 * 79.904 / (12 * 12.011 + 6 * 1.008 + 4 * 79.904 + 15.999)  # C12H6Br4O
MONO_BDE = 79.904 / (12 * 12.011 + 9 * 1.008 + 79.904 + 15.999)  # C12H9BrO

def xrf(n: int, below: int, lod: float | None, mx: float | None, p95: float | None = None,
        mean: float | None = None, mean_low: float | None = None) -> dict[str, Any]:
    return {"n": n, "n_below_lod": below, "mean_ppm": mean, "p95_ppm": p95, "max_ppm": mx, "lod_ppm": lod,
            "mean_bounds_ppm": None if mean_low is None else [mean_low, mean_low + 1.0], "method": "XRF",
            "thresholds": {}}

def lot(**contaminants: dict[str, Any]) -> Measurement:
    clean = xrf(40, 40, 5.0, None)
    return Measurement.model_validate(wire_measurement(contaminants={
        "Br": clean, "Pb": clean, "Hg": clean, "Cd": clean, "CrVI": clean, **contaminants}))

def spec(*limits: Limit) -> RequirementSpec:
    return RequirementSpec(spec_id="s", buyer="b", material="PP", limits=list(limits))

@pytest.mark.parametrize("br_max", [180.0, 250.0, 9.0])
def test_br_bounds_use_the_exact_fractions(br_max: float) -> None:
    result = conformance(spec(), lot(Br=xrf(40, 0, None, br_max)), DAY)
    by = {(c.analyte, c.source): c for c in result.checks}
    pbb = next(c for (a, _), c in by.items() if a == "PBB")
    assert pbb.value_ppm == pytest.approx(br_max / MONO_BB, rel=1e-12)
    assert pbb.value_ppm >= br_max / MONO_BB  # never low, not even by rounding
    pops = next(c for (a, s), c in by.items() if a == "PBDE" and "RoHS" not in s)
    assert pops.value_ppm == pytest.approx(br_max / TETRA_BDE, rel=1e-12)
    rohs = [c for (a, s), c in by.items() if a == "PBDE" and "RoHS" in s]
    for c in rohs:
        assert c.value_ppm == pytest.approx(br_max / MONO_BDE, rel=1e-12)

def test_pb_max_is_bounded_by_the_lod_of_its_non_detects() -> None:
    # detects up to 9 mg/kg, 12 readings '<LOD 15': the lot max is only known to be <= 15
    pb = xrf(40, 12, 15.0, 9.0, p95=8.0, mean=4.0, mean_low=3.5)
    undecided = conformance(spec(Limit(analyte="Pb", max_ppm=15.0, basis="max")), lot(Pb=pb), DAY)
    c = next(c for c in undecided.checks if c.analyte == "Pb" and c.source == "buyer")
    assert c.result == "conformant" and c.value_ppm == 15.0 and "bound" in (c.statistic or "")
    assert "15" in c.reason and "9" in c.reason
    # p95 8 with '<LOD 15' readings: p95 <= max(8, 15) = 15
    p95 = conformance(spec(Limit(analyte="Pb", max_ppm=20.0, basis="p95")), lot(Pb=pb), DAY)
    c = next(c for c in p95.checks if c.analyte == "Pb" and c.source == "buyer")
    assert c.result == "conformant" and c.value_ppm == 15.0 and "bound" in (c.statistic or "")
    # mean, '<LOD 4': detects' sum / n <= 3.5 (KM residual at 0), plus 12 x 4 / 40 = 1.2: <= 4.7, not KM 4.0
    low = xrf(40, 12, 4.0, 9.0, p95=8.0, mean=4.0, mean_low=3.5)
    mean = conformance(spec(Limit(analyte="Pb", max_ppm=4.5, basis="mean")), lot(Pb=low), DAY)
    c = next(c for c in mean.checks if c.analyte == "Pb" and c.source == "buyer")
    assert c.result == "insufficient_data" and c.value_ppm == pytest.approx(3.5 + 12 * 4.0 / 40), c.reason
    assert "'<LOD'" in c.reason
    # a detect above the limit still decides
    hot = conformance(spec(Limit(analyte="Pb", max_ppm=8.5, basis="max")), lot(Pb=xrf(40, 12, 8.0, 9.0)), DAY)
    c = next(c for c in hot.checks if c.analyte == "Pb" and c.source == "buyer")
    assert c.result == "non_conformant" and c.value_ppm == 9.0

def test_br_bound_counts_non_detects_at_their_lod() -> None:
    # Br detects up to 250, readings '<LOD 400': PBB <= 400 / w(monoBB) = 1167 > 1000, not 250 / w = 729
    result = conformance(spec(), lot(Br=xrf(40, 10, 400.0, 250.0)), DAY)
    pbb = next(c for c in result.checks if c.analyte == "PBB")
    assert pbb.result == "insufficient_data" and pbb.value_ppm == pytest.approx(400.0 / MONO_BB, rel=1e-12)
    # total Cr detects up to 800, '<LOD 1200': Cr(VI) is not bounded below the RoHS 1000
    cr = {k: v for k, v in lot(Cr=xrf(40, 5, 1200.0, 800.0)).contaminants.items() if k != "CrVI"}
    m = Measurement.model_validate({**lot().model_dump(mode="json"), "contaminants": {
        k: v.model_dump(mode="json") for k, v in cr.items()}})
    crvi = next(c for c in conformance(spec(), m, DAY).checks if c.analyte == "CrVI")
    assert crvi.result == "insufficient_data" and crvi.value_ppm == 1200.0

def test_screening_counts_non_detects_at_their_lod() -> None:
    s = screen(lot(Br=xrf(40, 10, 2500.0, 1500.0)), NONE_DECLARED, None, DAY)
    assert s.status == "pops_suspect" and s.br_value_ppm == 2500.0 and "bound" in (s.br_statistic or "")

def test_renderings_show_the_bound() -> None:
    texts = contaminant_texts(Contaminant.model_validate(xrf(40, 12, 15.0, 9.0, p95=8.0, mean=4.0, mean_low=3.5)))
    assert texts["max"] == "<= 15 (LOD)" and texts["p95"] == "<= 15 (LOD)" and texts["mean"] == "4"
    plain = contaminant_texts(Contaminant.model_validate(xrf(40, 12, 5.0, 9.0, p95=8.0, mean=4.0, mean_low=3.5)))
    assert plain == {"mean": "4", "p95": "8", "max": "9"}
