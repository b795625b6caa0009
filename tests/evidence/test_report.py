"""Recycled-content report and claims: product outputs only, per manufacturer/category, any period or fiscal
year, never a negative balance; old role-less records counted but flagged; an empty report says why."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.traceability.repo import record_step
from gateway.traceability.report import (
    JST,
    PeriodError,
    fiscal_year,
    lots_csv,
    record_claim,
    recycled_content,
    supplied_lots,
    to_csv,
)
from junkan.core.traceability import StepIn
from tests.evidence.plant import T0, build_plant

START, END = T0, T0 + timedelta(days=30)


def test_supplied_split_by_manufacturer_and_category(plant: dict[str, Any]) -> None:
    rep = recycled_content(plant["db"], plant["store"], START, END, ("regeneration",))
    assert rep["ok"] and [lot["lot_id"] for lot in rep["lots"]] == ["PP-RECYCLATE-1"]
    rows = {(r["manufacturer"], r["category"]): r for r in rep["rows"]}
    assert set(rows) == {("Aozora Electronics", "TV"), ("Hoshi Appliances", "refrigerator"),
                         ("Kumo Display Co.", "monitor")}
    assert sum(r["supplied_kg"] for r in rows.values()) == pytest.approx(6.8)  # the regenerated lot
    assert all(r["claimable_kg"] == r["supplied_kg"] for r in rows.values())
    table = list(csv.DictReader(io.StringIO(to_csv(rep))))
    assert len(table) == 3 and table[0]["period_start"] == START.isoformat()


def test_default_counts_final_products_of_every_kind_never_rejects_or_residues(plant: dict[str, Any]) -> None:
    rep = recycled_content(plant["db"], plant["store"], START, END)
    assert rep["ok"] and sorted(lot["lot_id"] for lot in rep["lots"]) == ["ABS-OUT-1", "PP-RECYCLATE-1"]
    assert rep["totals"]["supplied_kg"] == pytest.approx(6.8 + 6.0)
    assert rep["totals"]["not_supplied_kg"] == {"reject": 6.3, "residue": 90.0}  # BFR-1, OTHER-1


def test_fiscal_year_is_april_to_march_in_japan_time(plant: dict[str, Any]) -> None:
    start, end = fiscal_year(2025)
    assert (start, end) == (datetime(2025, 4, 1, tzinfo=JST), datetime(2026, 4, 1, tzinfo=JST))
    assert start.astimezone(UTC) == datetime(2025, 3, 31, 15, tzinfo=UTC)
    rep = recycled_content(plant["db"], plant["store"], start, end)  # the plant's steps are in March 2026
    assert rep["ok"] and rep["totals"]["supplied_kg"] == pytest.approx(12.8)
    empty = recycled_content(plant["db"], plant["store"], *fiscal_year(2026))
    assert not empty["ok"] and empty["rows"] == [] and "no process step ended" in empty["empty_reason"]


def test_any_period_length_and_lots_paged(plant: dict[str, Any]) -> None:
    db, store = plant["db"], plant["store"]
    rep = recycled_content(db, store, START - timedelta(days=400), END + timedelta(days=400), lots_limit=1)
    assert rep["lots_total"] == 2 and len(rep["lots"]) == 1 and rep["ok"]
    page2 = recycled_content(db, store, START, END, lots_offset=1, lots_limit=1)
    assert [lot["lot_id"] for lot in page2["lots"]] == ["PP-RECYCLATE-1"]
    assert [r["lot_id"] for r in supplied_lots(db, START, END, page=1)] == ["ABS-OUT-1", "PP-RECYCLATE-1"]
    lines = list(lots_csv(db, store, START, END))
    assert lines[0].startswith("lot_id,") and len(lines) == 3


def test_empty_report_says_why(plant: dict[str, Any]) -> None:
    db, store = plant["db"], plant["store"]
    none = recycled_content(db, store, START, END, ("blending",))
    assert not none["ok"] and "no step of kind blending" in none["empty_reason"]
    t = T0 + timedelta(days=10)
    record_step(db, StepIn(step_id="SRT-9", kind="sorting", started_at=t, ended_at=t + timedelta(hours=1),
                           inputs=[{"lot_id": "X-IN", "mass_kg": 10.0}],
                           outputs=[{"lot_id": "X-REJ", "mass_kg": 10.0, "role": "reject"}]))
    rejects = recycled_content(db, store, t, t + timedelta(days=1))
    assert "not products (reject 10.0 kg)" in rejects["empty_reason"] and not rejects["ok"]


def test_records_without_role_count_as_before_but_flagged(gateway_store: Any) -> None:
    db = gateway_store.db
    build_plant(gateway_store)
    db.execute("UPDATE process_flows SET role = NULL")  # a store written before roles existed
    rep = recycled_content(db, gateway_store, START, END)
    assert {lot["role"] for lot in rep["lots"]} == {"unknown"} and not rep["ok"] and rep["warnings"]
    assert "OTHER-1" in {lot["lot_id"] for lot in rep["lots"]}  # today's meaning: every final output
    assert all(r["role_unknown_kg"] == r["supplied_kg"] for r in rep["rows"])


def test_claims_never_go_negative(plant: dict[str, Any]) -> None:
    db, store = plant["db"], plant["store"]
    row = next(r for r in recycled_content(db, store, START, END)["rows"] if r["category"] == "TV")
    first = record_claim(db, store, "Aozora Electronics", "TV", START, END, row["claimable_kg"] / 2, "PO-1")
    assert first["remaining_kg"] == pytest.approx(row["claimable_kg"] / 2)
    with pytest.raises(PeriodError, match="exceeds"):
        record_claim(db, store, "Aozora Electronics", "TV", START, END, row["claimable_kg"], "PO-2")
    with pytest.raises(PeriodError, match="exceeds"):
        record_claim(db, store, "Nobody", "TV", START, END, 0.1)
    after = next(r for r in recycled_content(db, store, START, END)["rows"] if r["category"] == "TV")
    assert after["claimed_kg"] == pytest.approx(row["claimable_kg"] / 2) and after["balance_ok"]


def test_period_order_and_alarm_blocks(gateway_store: Any) -> None:
    world = build_plant(gateway_store, break_balance=True)
    with pytest.raises(PeriodError, match="after its start"):
        recycled_content(world["db"], gateway_store, END, START)
    rep = recycled_content(world["db"], gateway_store, START, END)
    assert not rep["ok"] and all(r["claimable_kg"] == 0 and r["blocked_kg"] > 0 for r in rep["rows"])


def test_role_is_wire_compatible_and_for_outputs_only() -> None:
    old = {"kind": "sorting", "started_at": "2026-03-01T08:00:00Z", "ended_at": "2026-03-01T09:00:00Z",
           "inputs": [{"lot_id": "A", "mass_kg": 1.0}], "outputs": [{"lot_id": "B", "mass_kg": 1.0}]}
    assert StepIn.model_validate(old).outputs[0].role is None  # a pre-role sender still validates
    with pytest.raises(ValueError, match="output lots only"):
        StepIn.model_validate(old | {"inputs": [{"lot_id": "A", "mass_kg": 1.0, "role": "product"}]})
    with pytest.raises(ValueError):
        StepIn.model_validate(old | {"outputs": [{"lot_id": "B", "mass_kg": 1.0, "role": "scrap"}]})
