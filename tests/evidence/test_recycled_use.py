"""The manufacturer's use side: recycled lots received and used per product category (record, API, CLI)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from gateway.app import create_app
from gateway.settings import GatewaySettings
from gateway.traceability.report import fiscal_year
from gateway.traceability.use import UseRepo
from junkan.core.traceability import RecycledUseIn

FY = fiscal_year(2025)  # the plant's steps end in March 2026


def use(**kw: Any) -> RecycledUseIn:
    base = {"manufacturer": "Hoshi Appliances", "category": "refrigerator", "lot_id": "PP-RECYCLATE-1",
            "supplier": "Plant A", "received_at": "2026-03-10T09:00:00+09:00", "received_kg": 6.8, "used_kg": 5.0}
    return RecycledUseIn.model_validate(base | kw)


def test_use_report_per_manufacturer_and_category_with_traced_content(plant: dict[str, Any]) -> None:
    repo = UseRepo(plant["db"], plant["store"])
    recorded = repo.record(use(use_id="U-1"))
    assert recorded["lot"]["traced"] and recorded["lot"]["post_consumer_share"] == pytest.approx(1.0)
    repo.record(use(use_id="U-2", lot_id="EXTERNAL-9", received_kg=3.0, used_kg=3.0, category="washing_machine"))
    repo.record(use(use_id="U-3", lot_id="BFR-1", received_kg=2.0, used_kg=1.0))  # a reject is not recycled plastic
    rep = repo.report(*FY)
    assert rep["ok"], rep
    rows = {(r["manufacturer"], r["category"]): r for r in rep["rows"]}
    fridge = rows[("Hoshi Appliances", "refrigerator")]
    assert (fridge["received_kg"], fridge["used_kg"]) == (8.8, 6.0)
    assert fridge["used_post_consumer_kg"] == pytest.approx(5.0) and fridge["used_untraced_kg"] == pytest.approx(1.0)
    assert rows[("Hoshi Appliances", "washing_machine")]["used_untraced_kg"] == 3.0
    bfr = next(lot for lot in rep["lots"] if lot["lot_id"] == "BFR-1")
    assert not bfr["traced"] and "reject" in bfr["reason"]
    assert repo.report(*fiscal_year(2026))["empty_reason"]


def test_a_lot_received_beyond_its_mass_makes_the_report_not_ok(plant: dict[str, Any]) -> None:
    repo = UseRepo(plant["db"], plant["store"])
    repo.record(use(use_id="U-1"))
    repo.record(use(use_id="U-2", manufacturer="Aozora Electronics", category="TV", received_kg=4.0, used_kg=4.0))
    rep = repo.report(*FY)
    assert not rep["ok"] and rep["over_received"] == [{"lot_id": "PP-RECYCLATE-1", "received_kg": 10.8,
                                                       "lot_mass_kg": 6.8}]


def test_a_blocked_lot_counts_no_recycled_content(gateway_store: Any) -> None:
    from tests.evidence.plant import build_plant

    world = build_plant(gateway_store, break_balance=True)  # the shredding step's balance fails: alarm
    repo = UseRepo(world["db"], gateway_store)
    repo.record(use(use_id="U-1"))
    (row,) = repo.report(*FY)["rows"]
    assert row["used_blocked_kg"] == 5.0 and row["used_post_consumer_kg"] == 0.0


def test_the_report_traces_each_lot_once_however_many_uses_it_has(plant: dict[str, Any]) -> None:
    from tests.evidence.test_lineage_pure import CountingDatabase

    repo = UseRepo(plant["db"], plant["store"])
    repo.record(use(use_id="U-1", received_kg=1.0, used_kg=1.0))

    def statements() -> int:
        counting = CountingDatabase(plant["db"])
        UseRepo(counting, plant["store"]).report(*FY)  # type: ignore[arg-type]
        return counting.statements

    once = statements()
    for i in range(2, 6):
        repo.record(use(use_id=f"U-{i}", received_kg=1.0, used_kg=1.0))
    assert repo.report(*FY)["rows"][0]["used_kg"] == 5.0
    assert statements() == once  # the lot's status (lineage, alarms) is read once, not once per use


def test_use_record_validation() -> None:
    with pytest.raises(ValidationError, match="more than"):
        use(used_kg=7.0)
    with pytest.raises(ValidationError, match="before received_at"):
        use(used_at="2026-03-01T00:00:00Z")


def test_use_api_and_cli(plant: dict[str, Any], gateway_db_url: str, tmp_path: Path, junkan: Any) -> None:
    app = create_app(GatewaySettings(consume=False, db_url=gateway_db_url), plant["store"])
    with TestClient(app, base_url="http://127.0.0.1") as api:
        body = use(use_id="U-API").model_dump(mode="json")
        assert api.post("/api/v1/process/uses", json=body).status_code == 201
        assert api.post("/api/v1/process/uses", json=body | {"used_kg": 99}).status_code == 422
        rep = api.get("/api/v1/process/reports/recycled-use", params={"fiscal_year": 2025}).json()
        assert rep["ok"] and rep["rows"][0]["used_kg"] == 5.0
        content = api.get("/api/v1/process/reports/recycled-content", params={"fiscal_year": 2025, "lots_limit": 1})
        assert content.status_code == 200 and content.json()["lots_total"] == 2
        both = api.get("/api/v1/process/reports/recycled-use", params={"fiscal_year": 2025, "start": "2026-01-01"})
        assert both.status_code == 422
    doc = {"uses": [use(use_id="U-CLI", manufacturer="Kumo Display Co.", category="monitor", lot_id="ABS-OUT-1",
                        received_kg=1.0, used_kg=0.5).model_dump(mode="json")]}
    (tmp_path / "uses.json").write_text(json.dumps(doc))
    assert junkan("gateway", "process", str(tmp_path / "uses.json"), "--db", gateway_db_url).returncode == 0
    res = junkan("gateway", "report", "recycled-use", "--db", gateway_db_url, "--fiscal-year", "2025")
    assert res.returncode == 0, res.stderr
    table = list(csv.DictReader(io.StringIO(res.stdout)))
    assert {(r["manufacturer"], r["used_kg"]) for r in table} == {("Hoshi Appliances", "5.0"),
                                                                  ("Kumo Display Co.", "0.5")}
    empty = junkan("gateway", "report", "recycled-use", "--db", gateway_db_url, "--fiscal-year", "2027")
    assert empty.returncode == 3 and "no recycled lot received" in empty.stderr
