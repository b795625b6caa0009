"""The recycled-content report on every shipped scenario's MES records: supplied mass never exceeds the mass
of the product output lots (computed here with plain SQL over the stored flows, not with report.py), and
the fiscal-year report works. Negative control: the same records without roles over-claim (the 2.14x bug).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.composition.importer import import_path
from gateway.traceability.repo import record_intake, record_step
from gateway.traceability.report import fiscal_year, recycled_content
from junkan.core.traceability import IntakeIn, StepIn
from simulators.plantline.mes import composition_file, process_records
from simulators.plantline.plan import plan_lots
from simulators.plantline.schema import SCENARIO_DIR, load_scenario

NAMES = sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))
SEED, N_LOTS = 5, 3
T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)  # inside fiscal year 2026 (April 2026 - March 2027)

PRODUCT_LOTS_SQL = (
    "SELECT COALESCE(SUM(f.mass_kg), 0) AS kg, COUNT(*) AS n FROM process_flows f "
    "JOIN process_steps s ON s.step_id = f.step_id WHERE f.direction = 'out' AND f.role = 'product' "
    "AND s.ended_at >= ? AND s.ended_at < ? "
    "AND f.lot_id NOT IN (SELECT c.lot_id FROM process_flows c WHERE c.direction = 'in')")
REJECTS_SQL = "SELECT COALESCE(SUM(mass_kg), 0) AS kg FROM process_flows WHERE direction = 'out' AND role = 'reject'"


def record_scenario(store: Any, name: str) -> list[str]:
    scenario = load_scenario(name)
    path = composition_file(scenario)
    assert path is not None and import_path(store.db, path)["status"] == "imported"
    lots = []
    for plan in plan_lots(scenario, SEED, N_LOTS):
        opened = T0 + timedelta(hours=2 * plan.lot_no)
        lot = {"lot_id": f"{name[:12]}-L{plan.lot_no}", "net_mass_kg": round(plan.truth["net_mass_kg"] * 1.001, 3),
               "opened_at": opened.isoformat(), "closed_at": (opened + timedelta(hours=1)).isoformat()}
        records = process_records(scenario, SEED, plan, lot)
        for intake in records["intake"]:
            record_intake(store.db, IntakeIn.model_validate(intake))
        for step in records["steps"]:
            assert record_step(store.db, StepIn.model_validate(step))["balance"]["ok"]
        lots.append(lot["lot_id"])
    return lots


@pytest.mark.parametrize("name", NAMES)
def test_supplied_never_exceeds_product_output_lots(gateway_store: Any, name: str) -> None:
    db = gateway_store.db
    lots = record_scenario(gateway_store, name)
    start, end = fiscal_year(2026)
    u0, u1 = start.astimezone(UTC).isoformat(), end.astimezone(UTC).isoformat()
    expected = db.rows(PRODUCT_LOTS_SQL, (u0, u1))[0]
    assert int(expected["n"]) == len(lots)  # the sorted output lots, nothing else is a final product
    rep = recycled_content(db, gateway_store, start, end)
    assert rep["ok"] and rep["empty_reason"] is None, rep["warnings"]
    assert sorted(lot["lot_id"] for lot in rep["lots"]) == sorted(lots)
    supplied = sum(r["supplied_kg"] for r in rep["rows"])
    assert supplied <= float(expected["kg"]) + 1e-6 * len(rep["rows"])  # rows are rounded to 1 mg
    assert supplied == pytest.approx(float(expected["kg"]), rel=1e-6)  # all post-consumer, all attributed
    assert all(r["manufacturer"] != "unknown" and r["category"] != "unknown" for r in rep["rows"])
    assert rep["totals"]["not_supplied_kg"]["reject"] == pytest.approx(float(db.rows(REJECTS_SQL)[0]["kg"]))


def test_without_roles_the_sorter_rejects_were_counted(gateway_store: Any) -> None:
    """Negative control: the old meaning (every final output of the sorting step) over-claims."""
    db = gateway_store.db
    record_scenario(gateway_store, "tv_housings_bfr")
    start, end = fiscal_year(2026)
    u0, u1 = start.astimezone(UTC).isoformat(), end.astimezone(UTC).isoformat()
    product_kg = float(db.rows(PRODUCT_LOTS_SQL, (u0, u1))[0]["kg"])
    rejects_kg = float(db.rows(REJECTS_SQL)[0]["kg"])
    assert rejects_kg > 0
    db.execute("UPDATE process_flows SET role = NULL")
    old = recycled_content(db, gateway_store, start, end, ("sorting",))
    supplied = sum(r["supplied_kg"] for r in old["rows"])
    assert supplied == pytest.approx(product_kg + rejects_kg, rel=1e-6) and supplied > product_kg
    assert not old["ok"] and old["warnings"]  # and the report says it cannot be trusted
