"""Always-on BFR screening: pops_suspect from declared PBDE/PBB and from XRF Br, without any buyer spec; Br
bounds PBB (and PBDE) stoichiometrically, so a clean lot is conformant to the default RoHS/POPs spec."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from gateway.evidence.build import build_evidence
from gateway.settings import GatewaySettings
from gateway.specs.conformance import PBB_MIN_BR_FRACTION, PBDE_MIN_BR_FRACTION, conformance
from gateway.specs.lab import LabConfirmationIn
from gateway.specs.lab_repo import attach
from gateway.specs.model import RequirementSpec
from gateway.specs.screening import ScreeningSettings, screen
from junkan.core.evidence import DeclaredSubstance, SubstancesDeclared, SubstancesUnknown
from junkan.core.measurement_model import Measurement
from tests.evidence.plant import LAB_CLEAN, MEASUREMENT, build_plant
from tests.evidence.scenario_store import bfr_models, record_scenario
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
    assert pytest.approx(mono_bb, rel=1e-12) == PBB_MIN_BR_FRACTION and round(mono_bb, 5) == 0.34278
    assert pytest.approx(tetra_bde, rel=1e-12) == PBDE_MIN_BR_FRACTION and round(tetra_bde, 5) == 0.65792


@pytest.mark.parametrize(("max_ppm", "below"), [(None, 40), (180.0, 30), (20.0, 39)])
def test_a_clean_lot_is_conformant_to_the_default_rohs_pops_spec(max_ppm: float | None, below: int) -> None:
    result = conformance(DEFAULT_SPEC, br(max_ppm, below=below), DAY)
    assert result.result == "conformant", result.reasons
    pbb = next(c for c in result.checks if c.analyte == "PBB")
    value = max_ppm if max_ppm is not None else 20.0  # censored: the LOD bounds it
    assert pbb.value_ppm == pytest.approx(value * (12 * 12.011 + 9 * 1.008 + 79.904) / 79.904, rel=1e-12)
    assert "no PBB measurement" not in " ".join(result.reasons)


MONO_BB_MASS = 12 * 12.011 + 9 * 1.008 + 79.904  # C12H9Br


def test_br_too_high_to_bound_pbb_stays_insufficient() -> None:
    # 400 mg/kg Br: PBB <= 400 / 0.34278 = 1167 > 1000, PBDE <= 400 / 0.65792 = 608 > 350: neither excluded,
    # neither failed
    result = conformance(DEFAULT_SPEC, br(400.0), DAY)
    by = {c.analyte: c for c in result.checks}
    assert result.result == "insufficient_data"
    assert by["PBB"].result == "insufficient_data"
    assert by["PBB"].value_ppm == pytest.approx(400 * MONO_BB_MASS / 79.904, rel=1e-12)
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
    with pytest.raises(ValueError, match="less than or equal to 2000"):  # never looser than the BFR cut-off
        GatewaySettings.model_validate({"screening": {"br_threshold_ppm": 5000}})


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


# --- scored against the tv_housings_bfr scenario's truth (issue 17, Done-when) ------------------------------

TV, SEED, N_LOTS = "tv_housings_bfr", 1, 8
BR_CUTOFF = 2000.0  # the issue's and standards.md §6's BFR cut-off on true total Br (mg/kg)


def _flagged(ev: Any) -> bool:
    return bool(ev.screening is not None and ev.screening.pops_suspect and ev.claims.blocked
                and any(r.startswith("pops_suspect: ") for r in ev.claims.reasons))


def test_tv_housings_every_bfr_lot_is_flagged_and_unclaimed(gateway_store: Any,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    lots = record_scenario(gateway_store, TV, SEED, N_LOTS)
    bfr = bfr_models(TV)
    assert bfr == {"KV-29DX", "TH-29FP20", "29C-HZ1", "C-29P1"}  # the CRT sets' HIPS covers (decaBDE)
    rows = []
    for lot in lots:
        t = lot["truth"]
        ev = build_evidence(gateway_store, gateway_store.db, lot["lot_id"], specs=[])
        hot = t["elements_ppm"]["Br"] > BR_CUTOFF
        declared = bool(bfr & set(t["product_models"]))
        rows.append((lot["lot_id"], t["elements_ppm"]["Br"], declared, _flagged(ev)))
        if hot or declared:
            assert _flagged(ev), (lot["lot_id"], ev.screening, ev.claims)
            assert ev.origin.status == "traced" and ev.mass_balance.ok  # blocked by the screening, not otherwise
        if declared:
            crt = [m for m in t["product_models"] if m in bfr]
            assert ev.screening is not None and any("decaBDE" in c for c in ev.screening.causes), crt
    with capsys.disabled():
        must = sum(1 for _, br_, d, _ in rows if br_ > BR_CUTOFF or d)
        print(f"\n{TV} seed {SEED}: {len(rows)} lots, {sum(r[1] > BR_CUTOFF for r in rows)} with true Br > 2000, "
              f"{sum(r[2] for r in rows)} with decaBDE-declared sources; must flag {must}, flagged "
              f"{sum(r[3] for r in rows)}, missed {sum(1 for r in rows if (r[1] > BR_CUTOFF or r[2]) and not r[3])}")


def test_tv_housings_br_alone_flags_the_hot_lots(gateway_store: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """Without composition records nothing is declared: XRF Br alone must catch every lot above 2000 true."""
    lots = record_scenario(gateway_store, TV, SEED, N_LOTS, compositions=False)
    hot = [lot for lot in lots if lot["truth"]["elements_ppm"]["Br"] > BR_CUTOFF]
    assert hot  # the scenario's CRT batches
    flagged = {lot["lot_id"]: _flagged(build_evidence(gateway_store, gateway_store.db, lot["lot_id"], specs=[]))
               for lot in lots}
    assert all(flagged[lot["lot_id"]] for lot in hot)
    with capsys.disabled():
        print(f"\n{TV} seed {SEED}, no records: {len(hot)} lots with true Br > 2000, all flagged; "
              f"{sum(flagged.values()) - len(hot)} more flagged by a flake's Br max > 2000 (conservative)")


def test_a_lab_confirmation_releases_a_suspect_tv_lot(gateway_store: Any) -> None:
    lots = record_scenario(gateway_store, TV, SEED, 3)
    cool = next(lot for lot in lots if lot["truth"]["elements_ppm"]["Br"] < 500)  # decaBDE declared, little Br
    db = gateway_store.db
    assert build_evidence(gateway_store, db, cool["lot_id"], specs=[]).claims.blocked
    attach(db, cool["lot_id"], LabConfirmationIn.model_validate(LAB_CLEAN), "lab-clerk")
    ev = build_evidence(gateway_store, db, cool["lot_id"], specs=[DEFAULT_SPEC])
    assert ev.screening is not None and ev.screening.status == "lab_confirmed" and not ev.claims.blocked


def test_a_clean_pp_scenario_lot_is_conformant_to_the_default_spec(gateway_store: Any) -> None:
    lots = record_scenario(gateway_store, "appliance_pp_line", SEED, 2)
    for lot in lots:
        t = lot["truth"]
        assert t["polymer_mass_fractions"]["PP"] > 0.99 and t["elements_ppm"]["Br"] < 1.0  # clean PP, by truth
        ev = build_evidence(gateway_store, gateway_store.db, lot["lot_id"], specs=[DEFAULT_SPEC])
        result = ev.conformance[0]
        assert result.result == "conformant", result.reasons
        assert {c.analyte for c in result.checks} >= {"PBB", "PBDE", "Pb", "Cd", "Hg", "CrVI"}
        assert ev.screening is not None and ev.screening.status == "clear" and not ev.claims.blocked


def _page_client(store: Any, gateway_db_url: str) -> Any:
    from fastapi.testclient import TestClient

    from gateway.app import create_app

    return TestClient(create_app(GatewaySettings(consume=False, db_url=gateway_db_url), store),
                      base_url="http://127.0.0.1", client=("127.0.0.1", 50000))


def test_lot_page_shows_the_screening_in_both_languages(gateway_store: Any, gateway_db_url: str) -> None:
    build_plant(gateway_store, lab_confirmed=False)
    client = _page_client(gateway_store, gateway_db_url)
    page = client.get("/lots/PP-OUT-1").text
    assert 'data-status="pops_suspect"' in page and "POPs suspect" in page and 'data-test="lab-none"' in page
    assert "Decabromodiphenyl ether (decaBDE)" in page and 'data-test="claims-blocked"' in page
    ja = client.get("/lots/PP-OUT-1", headers={"Accept-Language": "ja"}).text
    assert "POPs 含有の疑い" in ja and "再生材含有の主張は不可" in ja and "POPs suspect" not in ja
    attach(gateway_store.db, "PP-OUT-1", LabConfirmationIn.model_validate(LAB_CLEAN), "alice")
    cleared = client.get("/lots/PP-OUT-1").text
    assert 'data-status="lab_confirmed"' in cleared and 'data-test="lab-confirmation"' in cleared
    assert "Kanto Analytical Lab" in cleared and 'data-test="claims-blocked"' not in cleared


def test_declared_hbcdd_is_suspect_and_the_lab_must_report_it() -> None:
    from gateway.specs.lab import LabConfirmation

    hbcdd = NONE_DECLARED.model_copy(update={"substances": [DeclaredSubstance(
        cas="25637-99-4", name="Hexabromocyclododecane (HBCDD)", group="HBCDD", can_carry_over=True,
        declared_in_models=["EPS-1"], materials=["EPS (PS)"], max_fraction_in_material=0.007, source_mass_kg=2.0,
        source_share=0.2)]})
    lab = LabConfirmation.model_validate({**LAB_CLEAN, "confirmation_id": "LAB-9", "lot_id": "L", "entered_by": "t",
                                          "entered_at": "2026-06-01T00:00:00Z"})
    s = screen(br(50.0), hbcdd, lab, DAY)  # LAB_CLEAN has no HBCDD result: it cannot clear an HBCDD lot
    assert s.status == "pops_suspect" and s.lab is not None and s.lab.result == "insufficient"
    assert any("HBCDD not confirmed" in r for r in s.lab.reasons)
    with_hbcdd = lab.model_copy(update={"results": [*lab.results, *LabConfirmation.model_validate(
        {**LAB_CLEAN, "results": [{"analyte": "HBCDD", "value_mg_kg": 80.0}], "confirmation_id": "x",
         "lot_id": "L", "entered_by": "t", "entered_at": "2026-06-01T00:00:00Z"}).results]})
    failed = screen(br(50.0), hbcdd, with_hbcdd, DAY)  # 80 > 75 mg/kg (Delegated Reg. 2024/2555)
    assert failed.status == "lab_failed" and failed.pops_suspect
