"""Recycled-content report and claims: per manufacturer/category, ≤ 3 months, never a negative balance."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest

from gateway.traceability.report import PeriodError, record_claim, recycled_content, to_csv
from tests.evidence.plant import T0, build_plant

START, END = T0, T0 + timedelta(days=30)


def test_supplied_split_by_manufacturer_and_category(plant: dict[str, Any]) -> None:
    rep = recycled_content(plant["db"], plant["store"], START, END)
    assert rep["ok"] and [lot["lot_id"] for lot in rep["lots"]] == ["PP-RECYCLATE-1"]
    rows = {(r["manufacturer"], r["category"]): r for r in rep["rows"]}
    assert set(rows) == {("Aozora Electronics", "TV"), ("Hoshi Appliances", "refrigerator"),
                         ("Kumo Display Co.", "monitor")}
    assert sum(r["supplied_kg"] for r in rows.values()) == pytest.approx(6.8)  # the regenerated lot
    assert all(r["claimable_kg"] == r["supplied_kg"] for r in rows.values())
    table = list(csv.DictReader(io.StringIO(to_csv(rep))))
    assert len(table) == 3 and table[0]["period_start"] == START.isoformat()


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


def test_period_limit_and_alarm_blocks(gateway_store: Any) -> None:
    world = build_plant(gateway_store, break_balance=True)
    with pytest.raises(PeriodError, match="3 months"):
        recycled_content(world["db"], gateway_store, START, START + timedelta(days=120))
    rep = recycled_content(world["db"], gateway_store, START, END)
    assert not rep["ok"] and all(r["claimable_kg"] == 0 and r["blocked_kg"] > 0 for r in rep["rows"])
