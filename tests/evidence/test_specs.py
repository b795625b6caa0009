"""Requirement specs: regulatory defaults by date and conformance with reasons (never invented data)."""

from __future__ import annotations

import copy
from datetime import date

from gateway.specs.conformance import conformance
from gateway.specs.model import RequirementSpec, effective_limits, regulatory_limits
from junkan.core.measurement_model import Measurement
from tests.evidence.plant import MEASUREMENT
from tests.measurements import wire_measurement

MEASURED = Measurement.model_validate(MEASUREMENT)


def limit_of(limits: list, analyte: str) -> float:  # type: ignore[type-arg]
    return next(x.max_ppm for x in limits if x.analyte == analyte)


def test_pops_pbde_limit_steps_down_with_the_date() -> None:
    assert limit_of(regulatory_limits(date(2025, 12, 29)), "PBDE") == 500
    assert limit_of(regulatory_limits(date(2025, 12, 30)), "PBDE") == 350
    assert limit_of(regulatory_limits(date(2027, 12, 30)), "PBDE") == 200
    assert limit_of(regulatory_limits(date(2026, 1, 1)), "Cd") == 100
    assert limit_of(regulatory_limits(date(2026, 1, 1)), "Pb") == 1000


def test_buyer_limit_only_tightens() -> None:
    spec = RequirementSpec(spec_id="s", buyer="b", material="PP",
                           limits=[{"analyte": "Cd", "max_ppm": 50}, {"analyte": "Pb", "max_ppm": 5000}])
    limits = effective_limits(spec, date(2026, 6, 1))
    assert limit_of(limits, "Cd") == 50 and limit_of(limits, "Pb") == 1000


def spec(**kw: object) -> RequirementSpec:
    base: dict[str, object] = {"spec_id": "s", "buyer": "b", "material": "PP", "regulatory_defaults": False}
    return RequirementSpec.model_validate(base | kw)



def with_contaminant(analyte: str, entry: dict[str, object]) -> Measurement:
    """The fixture's measurement with one more screened (or lab) analyte."""
    return Measurement.model_validate(wire_measurement(**{**MEASUREMENT, "contaminants": {
        **MEASUREMENT["contaminants"], analyte: entry}}))

def test_conformant_non_conformant_insufficient() -> None:
    today = date(2026, 6, 1)
    limits = [{"analyte": "Br", "max_ppm": 500}, {"analyte": "Cd", "max_ppm": 100}]
    ok = conformance(spec(min_purity=0.95, limits=limits), MEASURED, today)
    assert ok.result == "conformant" and not ok.reasons
    cd = next(c for c in ok.checks if c.analyte == "Cd")
    assert cd.statistic is not None and cd.statistic.startswith("lod_ppm")  # all below LOD: LOD used as the upper value
    bad = conformance(spec(limits=[{"analyte": "Br", "max_ppm": 100}]), MEASURED, today)
    assert bad.result == "non_conformant" and "Br p95_ppm 120 > 100" in bad.reasons[0]
    unsure = conformance(spec(min_purity=0.96), MEASURED, today)  # CI 95.1..97.1 spans 96 %
    assert unsure.result == "insufficient_data" and "spans" in unsure.reasons[0]
    lod = conformance(spec(limits=[{"analyte": "Cd", "max_ppm": 2}]), MEASURED, today)
    assert lod.result == "insufficient_data" and "LOD" in lod.reasons[0]
    empty = conformance(spec(min_purity=0.9, limits=[{"analyte": "Pb", "max_ppm": 1000}]), None, today)
    assert empty.result == "insufficient_data" and len(empty.reasons) == 2


def test_pbde_bounded_by_br_screening_or_needs_gc_ms() -> None:
    today = date(2028, 1, 1)  # 200 mg/kg
    s = spec(limits=[{"analyte": "PBDE", "max_ppm": 200, "basis": "max"}])
    res = conformance(s, MEASURED, today)  # Br max 180 -> PBDE <= 274 > 200: cannot exclude
    assert res.result == "insufficient_data" and "GC-MS" in res.reasons[0]
    low = copy.deepcopy(MEASUREMENT)
    low["contaminants"]["Br"]["max_ppm"] = 100.0
    assert conformance(s, Measurement.model_validate(low), today).result == "conformant"
    lab = with_contaminant("PBDE", {"n": 3, "n_below_lod": 0, "max_ppm": 240.0, "lod_ppm": 5.0, "method": "GC-MS"})
    assert conformance(s, lab, today).result == "non_conformant"


def test_crvi_bounded_by_total_cr() -> None:
    s = spec(limits=[{"analyte": "CrVI", "max_ppm": 1000, "basis": "max"}])
    low = with_contaminant("Cr", {"n": 10, "n_below_lod": 8, "max_ppm": 40.0, "lod_ppm": 5.0, "method": "XRF"})
    assert conformance(s, low, date(2026, 6, 1)).result == "conformant"
    high = with_contaminant("Cr", {"n": 10, "n_below_lod": 8, "max_ppm": 1500.0, "lod_ppm": 5.0, "method": "XRF"})
    res = conformance(s, high, date(2026, 6, 1))
    assert res.result == "insufficient_data" and "speciation" in res.reasons[0]
    assert conformance(s, MEASURED, date(2026, 6, 1)).result == "insufficient_data"  # no Cr at all
