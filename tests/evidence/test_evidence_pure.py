"""Evidence assembly as a pure function over hand-built inputs (no store): claims, balance, substances,
devices follow from what was loaded, and nothing is invented for what was not."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.evidence.build import EvidenceInputs, evidence_of
from gateway.traceability.graph import SourceRecord
from gateway.traceability.lineage import lineage_of
from gateway.traceability.rows import IntakeLot, ProductLine
from junkan.core.evidence import Flow, Lineage, StepBalance

NOW = datetime(2026, 3, 10, tzinfo=UTC)
T = "2026-03-03T00:00:00+00:00"
STEP = StepBalance(step_id="S1", kind="sorting", plant="Plant A", site=None, ended_at=T, balance_ok=False,
                   input_mass_kg=10.0, output_mass_kg=8.0, declared_loss_kg=0.0,
                   inputs=[Flow(lot_id="IN-1", mass_kg=10.0)], outputs=[Flow(lot_id="OUT", mass_kg=8.0)])
INTAKE: IntakeLot = {"lot_id": "IN-1", "received_at": T, "source_stream": "weee", "consumer": "post_consumer",
                     "plant": "Plant A", "net_mass_kg": 10.0}


def walked() -> Lineage:
    products: list[ProductLine] = [
        {"model": "TV-1", "product_id": "p1", "manufacturer": "Acme", "category": "tv", "n_items": 1, "mass_kg": 6.0},
        {"model": "TV-2", "product_id": None, "manufacturer": None, "category": None, "n_items": 1, "mass_kg": 4.0}]
    return lineage_of("OUT", 8.0, {"IN-1": 10.0}, {"S1": STEP}, {"IN-1": SourceRecord(INTAKE, products)})


def test_a_graph_only_lot_with_an_open_step_alarm_is_blocked() -> None:
    alarm = {"id": 1, "scope": "step", "ref": "S1", "raised_at": T, "detail": {"kind": "sorting"}}
    substance = {"product_id": "p1", "part": "housing", "material": "ABS", "material_class": "plastic",
                 "material_mass_mg": 1.0, "substance": "decaBDE", "cas": "1163-19-5", "mass_mg": 0.1,
                 "fraction": 0.1, "dsl_ref": None, "below_lod": 0}
    ev = evidence_of(EvidenceInputs(lot_id="OUT", walked=walked(), open_alarms=[alarm], substances=[substance],
                                    known_products={"p1"}), issuer=None, now=NOW)
    assert ev.lot.status == "recorded" and ev.lot.net_mass_kg == 8.0  # known only from the graph
    assert ev.claims.blocked and ev.claims.reasons[0] == "balance alarm step S1"
    # decaBDE declared in a plastic part of 60 % of the source mass: POPs-suspect, blocked too
    assert len(ev.claims.reasons) == 2 and ev.claims.reasons[1].startswith("pops_suspect: ")
    assert "60.0% of the source mass" in ev.claims.reasons[1]
    assert not ev.mass_balance.ok and [a.id for a in ev.mass_balance.alarms] == [1]
    assert ev.origin.status == "traced" and ev.chain_of_custody.model == "segregated"
    subs = ev.declared_substances
    assert subs.status == "partial" and subs.record_coverage_share == 0.6  # TV-2 has no record
    assert [s.cas for s in subs.substances] == ["1163-19-5"] and subs.substances[0].can_carry_over
    assert "composition: no measured composition for the lot" in ev.data_gaps
    assert ev.devices == []  # no stored lot: no devices claimed


def test_devices_come_from_the_loaded_rows_and_readings() -> None:
    lot = {"lot_id": "L1", "site": "s", "line": "l", "agent": "a1", "status": "closed", "opened_at": T,
           "closed_at": T, "net_mass_kg": 5.0, "n_weighings": 1, "devices": ["scale-1", "xrf-1"], "measurement": {},
           "recycler": None}
    inputs = EvidenceInputs(lot_id="L1", lot=lot, devices=[{"agent": "a1", "device": "xrf-1", "driver": "vanta_csv",
                                                            "state": "alive"}],
                            calibration={"xrf-1": {"status": "ok", "certificate": "C-1"}})
    ev = evidence_of(inputs, issuer=None, now=NOW)
    by_name = {d.device: d for d in ev.devices}
    assert by_name["xrf-1"].driver == "vanta_csv" and by_name["xrf-1"].calibration["certificate"] == "C-1"
    assert by_name["scale-1"].driver is None and by_name["scale-1"].calibration == {"status": "not_reported"}
    assert ev.origin.status == "untraced" and ev.claims.blocked
