"""Camera identifications vs intake records: a false intake record (68 CRT sets where the camera saw only
LCD models) gives an ident mismatch naming lot, expected and seen, a data gap and a claims reason; a true
intake record gives none (the same scenario lots, truthful records, are the negative control)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from gateway.evidence.build import build_evidence
from gateway.evidence.crosscheck import compare
from gateway.traceability.repo import record_intake
from junkan.core.traceability import IntakeIn
from tests.evidence.plant import T0, build_plant
from tests.evidence.scenario_store import record_scenario

TV, SEED = "tv_housings_bfr", 1
LCD = {"LC-32H11", "TH-32A300", "32S5", "KJ-32W730E"}


def test_compare_needs_enough_reads_and_ignores_single_misreads() -> None:
    assert compare("L", ["L"], {"KV-29DX": 68}, {"KV-29DX": 2}) is None  # too few reads to tell
    assert compare("L", ["L"], {"KV-29DX": 66, "32S5": 2}, {"KV-29DX": 40, "TH-32A300": 1}) is None  # one misread
    # 8 of 68 declared, 41 reads: 4.8 expected, none seen (Poisson p < 1 %): a disagreement
    assert compare("L", ["L"], {"KV-29DX": 60, "32S5": 8}, {"KV-29DX": 40}) is not None
    m = compare("L", ["L"], {"KV-29DX": 68}, {"32S5": 30, "LC-32H11": 25})
    assert m is not None and m.expected == {"KV-29DX": 68} and m.seen == {"32S5": 30, "LC-32H11": 25}
    assert "68 x KV-29DX" in m.reason and "none of them in 55 items" in m.reason and "30 x 32S5" in m.reason
    # a model with few items on the record may go unseen: 2 of 70 declared -> < 3 expected in 40 reads
    assert compare("L", ["L"], {"KV-29DX": 68, "C-29P1": 2}, {"KV-29DX": 40}) is None


def test_true_intake_records_agree_with_the_camera(gateway_store: Any) -> None:
    lots = record_scenario(gateway_store, TV, SEED, 4)
    for lot in lots:
        ev = build_evidence(gateway_store, gateway_store.db, lot["lot_id"], specs=[])
        assert ev.ident_mismatches == [], ev.ident_mismatches
        assert not any(g.startswith("identification:") for g in ev.data_gaps)


def test_a_false_intake_record_is_flagged_with_expected_and_seen(gateway_store: Any) -> None:
    lots = record_scenario(gateway_store, TV, SEED, 4, intake_products={3: [{"model": "KV-29DX", "n_items": 68}]})
    false = next(lot for lot in lots if lot["lot_no"] == 3)
    truth = Counter(false["truth"]["product_models"])
    assert sum(n for m, n in truth.items() if m in LCD) / sum(truth.values()) > 0.9  # by truth an LCD lot
    ev = build_evidence(gateway_store, gateway_store.db, false["lot_id"], specs=[])
    assert len(ev.ident_mismatches) == 1
    m = ev.ident_mismatches[0]
    assert m.lot_id == false["lot_id"] and m.intake_lots == [false["intake"]] and m.expected == {"KV-29DX": 68}
    assert set(m.seen) <= set(truth) and set(m.seen) & LCD  # what the camera saw is what truly went through
    assert "68 x KV-29DX" in m.reason and false["lot_id"] in m.reason
    assert any(g.startswith("identification:") and "not confirmed" in g for g in ev.data_gaps)
    assert ev.claims.blocked and any(r.startswith("identification mismatch:") for r in ev.claims.reasons)
    others = [lot for lot in lots if lot["lot_no"] != 3]
    for lot in others:  # the other lots' records are true
        assert build_evidence(gateway_store, gateway_store.db, lot["lot_id"], specs=[]).ident_mismatches == []


def test_camera_reads_on_a_source_lot_against_its_own_intake_record(gateway_store: Any) -> None:
    build_plant(gateway_store)
    # IN-1's camera saw TVs and monitors (AZ-32LX1, KM-2401B, ...); the intake record now says 12 HR-300
    record_intake(gateway_store.db, IntakeIn.model_validate(
        {"lot_id": "IN-1", "plant": "Plant A", "site": "plant-a", "received_at": T0, "source_stream": "weee",
         "net_mass_kg": 30.5, "products": [{"model": "HR-300", "n_items": 12}]}))
    ev = build_evidence(gateway_store, gateway_store.db, "PP-OUT-1", specs=[], now=T0 + timedelta(days=30))
    found = [m for m in ev.ident_mismatches if m.lot_id == "IN-1"]
    assert len(found) == 1 and found[0].expected == {"HR-300": 12} and "HR-300" not in found[0].seen
    assert any("lot IN-1" in r for r in ev.claims.reasons)


def test_the_lot_page_shows_the_mismatch(gateway_store: Any, gateway_db_url: str) -> None:
    from fastapi.testclient import TestClient

    from gateway.app import create_app
    from gateway.settings import GatewaySettings

    build_plant(gateway_store)
    record_intake(gateway_store.db, IntakeIn.model_validate(
        {"lot_id": "IN-1", "plant": "Plant A", "site": "plant-a", "received_at": T0, "source_stream": "weee",
         "net_mass_kg": 30.5, "products": [{"model": "HR-300", "n_items": 12}]}))
    client = TestClient(create_app(GatewaySettings(consume=False, db_url=gateway_db_url), gateway_store),
                        base_url="http://127.0.0.1", client=("127.0.0.1", 50000))
    page = client.get("/lots/PP-OUT-1").text
    assert 'data-test="ident-mismatches"' in page and "12 × HR-300" in page and "Camera saw" in page
    assert "カメラ識別と受入記録の不一致" in client.get("/lots/PP-OUT-1", headers={"Accept-Language": "ja"}).text
