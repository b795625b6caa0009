"""Always-on BFR screening: pops_suspect from declared PBDE/PBB and from XRF Br, without any buyer spec; Br
bounds PBB (and PBDE) stoichiometrically, so a clean lot is conformant to the default RoHS/POPs spec."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from gateway.evidence.build import build_evidence
from gateway.settings import GatewaySettings
from gateway.specs.conformance import PBB_MIN_BR_FRACTION, PBDE_MIN_BR_FRACTION, conformance
from gateway.specs.model import RequirementSpec
from gateway.specs.screening import ScreeningSettings, screen
from junkan.core.evidence import DeclaredSubstance, SubstancesDeclared, SubstancesUnknown
from junkan.core.measurement_model import Measurement
from tests.evidence.plant import MEASUREMENT, build_plant
from tests.measurements import wire_measurement

DAY = date(2026, 6, 1)  # POPs PBDE limit for articles from recovered material: 350 mg/kg (2025-12-30 .. 2027-12-29)
NONE_DECLARED = SubstancesDeclared(status="complete", record_coverage_share=1.0, models_without_record=[],
                                   substances=[])
DEFAULT_SPEC = RequirementSpec(spec_id="rohs-pops", buyer="any", material="PP")  # regulatory defaults only


def br(max_ppm: float | None, *, n: int = 40, below: int = 0, lod: float = 20.0, p95: float | None = None
       ) -> Measurement:
    """A lot whose only screening is Br (plus Pb, Hg, Cr, Cd all below LOD, as the line's XRF reports them)."""
    clean: dict[str, Any] = {"n": n, "n_below_lod": n, "mean_ppm": None, "p95_ppm": None, "max_ppm": None,
                             "lod_ppm": 5.0, "method": "XRF", "thresholds": {}}
    return Measurement.model_validate(wire_measurement(contaminants={
        "Br": {"n": n, "n_below_lod": below, "mean_ppm": None if max_ppm is None else max_ppm / 3,
               "p95_ppm": p95, "max_ppm": max_ppm, "lod_ppm": lod, "method": "XRF", "thresholds": {}},
        "Pb": clean, "Hg": clean, "Cd": clean, "CrVI": clean}))


def declared(group: str, share: float, in_plastic: bool = True) -> SubstancesDeclared:
    names = {"PBDE": ("1163-19-5", "Decabromodiphenyl ether (decaBDE)"), "PBB": ("59536-65-1", "PBB"),
             "BFR": ("79-94-7", "Tetrabromobisphenol A (TBBPA)")}
    cas, name = names[group]
    return NONE_DECLARED.model_copy(update={"substances": [DeclaredSubstance(
        cas=cas, name=name, group=group, can_carry_over=in_plastic, declared_in_models=["KV-29DX"],
        materials=["HIPS back cover (HIPS)"], max_fraction_in_material=0.0114, source_mass_kg=10.0,
        source_share=share)]})


def test_br_fractions_come_from_the_formulas() -> None:
    # independent arithmetic: monobromobiphenyl C12H9Br and tetrabromodiphenyl ether C12H6Br4O
    mono_bb = 79.904 / (12 * 12.011 + 9 * 1.008 + 79.904)
    tetra_bde = 4 * 79.904 / (12 * 12.011 + 6 * 1.008 + 4 * 79.904 + 15.999)
    assert PBB_MIN_BR_FRACTION == pytest.approx(mono_bb, abs=5e-4) == pytest.approx(0.343, abs=5e-4)
    assert PBDE_MIN_BR_FRACTION == pytest.approx(tetra_bde, abs=5e-4) == pytest.approx(0.658, abs=5e-4)


@pytest.mark.parametrize(("max_ppm", "below"), [(None, 40), (180.0, 30), (20.0, 39)])
def test_a_clean_lot_is_conformant_to_the_default_rohs_pops_spec(max_ppm: float | None, below: int) -> None:
    result = conformance(DEFAULT_SPEC, br(max_ppm, below=below), DAY)
    assert result.result == "conformant", result.reasons
    pbb = next(c for c in result.checks if c.analyte == "PBB")
    value = max_ppm if max_ppm is not None else 20.0  # censored: the LOD bounds it
    assert pbb.value_ppm == pytest.approx(value * (12 * 12.011 + 9 * 1.008 + 79.904) / 79.904, rel=2e-3)
    assert "no PBB measurement" not in " ".join(result.reasons)


def test_br_too_high_to_bound_pbb_stays_insufficient() -> None:
    # 400 mg/kg Br: PBB <= 400 / 0.343 = 1166 > 1000, PBDE <= 608 > 350: neither excluded, neither failed
    result = conformance(DEFAULT_SPEC, br(400.0), DAY)
    by = {c.analyte: c for c in result.checks}
    assert result.result == "insufficient_data"
    assert by["PBB"].result == "insufficient_data" and by["PBB"].value_ppm == pytest.approx(400 / 0.3428, rel=2e-3)
    assert by["PBDE"].result == "insufficient_data" and "GC-MS" in by["PBDE"].reason


def test_screening_without_any_spec() -> None:
    clean = screen(br(180.0), NONE_DECLARED, None, DAY)
    assert clean.status == "clear" and not clean.pops_suspect and clean.causes == []
    hot = screen(br(9135.0, p95=7000.0), NONE_DECLARED, None, DAY)
    assert hot.status == "pops_suspect" and hot.pops_suspect
    assert hot.causes == ["XRF Br max_ppm 9135 mg/kg > screening threshold 2000 mg/kg (n 40, p95 7000)"]
    edge = screen(br(2000.0), NONE_DECLARED, None, DAY)  # at the threshold: not above it
    assert edge.status == "clear"


def test_declared_pbde_or_pbb_in_plastic_makes_the_lot_suspect_whatever_the_br() -> None:
    for group in ("PBDE", "PBB"):
        s = screen(br(50.0), declared(group, 0.97), None, DAY)
        assert s.status == "pops_suspect" and "97.0% of the source mass" in s.causes[0], group
    assert screen(br(50.0), declared("PBDE", 0.5, in_plastic=False), None, DAY).status == "clear"  # solder etc.
    assert screen(br(50.0), declared("BFR", 0.9), None, DAY).status == "clear"  # TBBPA is not a POP
    unknown = SubstancesUnknown(status="insufficient_data", reason="no source products known", substances=[])
    assert screen(br(50.0), unknown, None, DAY).status == "clear"


def test_threshold_is_a_gateway_setting() -> None:
    field = GatewaySettings.model_fields["screening"]
    assert GatewaySettings().screening.br_threshold_ppm == 2000.0 and field.description
    assert ScreeningSettings.model_fields["br_threshold_ppm"].description
    lower = GatewaySettings.model_validate({"screening": {"br_threshold_ppm": 1000}}).screening
    assert screen(br(1500.0), NONE_DECLARED, None, DAY, lower).status == "pops_suspect"
    assert screen(br(1500.0), NONE_DECLARED, None, DAY).status == "clear"


def test_suspect_lot_in_the_store_has_its_claims_blocked_and_a_data_gap(gateway_store: Any) -> None:
    build_plant(gateway_store, lab_confirmed=False)
    ev = build_evidence(gateway_store, gateway_store.db, "PP-OUT-1", specs=[])
    assert ev.screening is not None and ev.screening.status == "pops_suspect"
    assert ev.claims.blocked and len(ev.claims.reasons) == 1
    reason = ev.claims.reasons[0]
    # the figures: decaBDE's source mass share from the declared substances section, recomputed from origin
    tv_kg = sum(m.attributed_kg for m in ev.origin.models if m.model in ("AZ-32LX1", "AZ-50LX3"))
    share = tv_kg / sum(m.attributed_kg for m in ev.origin.models)
    assert "decaBDE" in reason and f"{share:.1%} of the source mass" in reason
    assert any(g.startswith("screening: pops_suspect") for g in ev.data_gaps)
    # without specs there is no conformance, and still the screening ran
    assert ev.conformance == []


def test_high_br_lot_in_the_store_is_blocked_with_the_br_figures(gateway_store: Any) -> None:
    from tests.evidence.plant import T0, store_lot

    hot = wire_measurement(**{**MEASUREMENT, "contaminants": {
        "Br": {"n": 40, "n_below_lod": 3, "mean_ppm": 5132.0, "p95_ppm": 11800.0, "max_ppm": 12650.0,
               "lod_ppm": 20.0, "method": "XRF", "thresholds": {}}}})
    store_lot(gateway_store, "HIPS-OUT-9", 80.0, hot, [], T0)
    ev = build_evidence(gateway_store, gateway_store.db, "HIPS-OUT-9", specs=[])
    assert ev.claims.blocked and any("XRF Br max_ppm 12650 mg/kg > screening threshold 2000 mg/kg" in r
                                     for r in ev.claims.reasons)
