"""Process graph, mass balance and lineage over the real store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.store.db import Database
from gateway.traceability.balance import balance
from gateway.traceability.lineage import backward, blocking_alarms, forward_model, split_over_products
from gateway.traceability.repo import alarms, clear_alarm, period_balance, record_step
from junkan.core.traceability import StepIn
from tests.evidence.plant import T0, build_plant


def test_balance_arithmetic() -> None:
    assert balance(100, 97, 2, 0.02)["ok"]
    over = balance(100, 90, 2, 0.02)
    assert not over["ok"] and over["unaccounted_kg"] == 8 and "unaccounted" in (over["reason"] or "")
    created = balance(100, 103, 0, 0.02)
    assert not created["ok"] and "exceed" in (created["reason"] or "")
    assert not balance(0, 0, 0, 0.02)["ok"]


def test_lineage_masses_sum_to_input_within_losses(plant: dict[str, Any]) -> None:
    db: Database = plant["db"]
    for lot in ("PP-OUT-1", "PP-RECYCLATE-1", "ABS-OUT-1", "BFR-1", "OTHER-1"):
        lin = backward(db, lot, plant["store"])
        total = sum(m.attributed_kg for m in lin.models)
        assert total == pytest.approx(lin.source_input_mass_kg, abs=1e-5)
        assert lin.unattributed_kg == pytest.approx(0, abs=1e-5)
        # input-attributed mass exceeds the lot by its share of the declared and tolerated losses
        losses = lin.source_input_mass_kg - lin.lot_mass_kg
        worst_case = lin.source_input_mass_kg * (1 - (1 - 0.02) ** len(lin.steps)) + sum(
            s.declared_loss_kg for s in lin.steps)
        assert 0 <= losses <= worst_case
    lin = backward(db, "PP-OUT-1", plant["store"])
    assert {m.model for m in lin.models} == {"AZ-32LX1", "KM-24O1B", "AZ-50LX3", "HR-300"}
    assert lin.plants == ["Plant A", "Plant B"]
    # by hand: sorting 19.6*7/19.3, shredding x20/19.6, dismantling x(30.5|81)/110
    flakes = 19.6 * 7.0 / 19.3
    housings = 20.0 * flakes / 19.6
    by_lot = {s.lot_id: s.attributed_kg for s in lin.sources}
    assert by_lot["IN-1"] == pytest.approx(30.5 * housings / 110, rel=1e-6)
    assert by_lot["IN-2"] == pytest.approx(81.0 * housings / 110, rel=1e-6)


def test_forward_lineage_of_a_model(plant: dict[str, Any]) -> None:
    out = forward_model(plant["db"], "km-24o1b", plant["store"])
    lots = {o["lot_id"]: o for o in out["output_lots"]}
    assert out["intake_lots"] == ["IN-1"]
    assert set(lots) == {"PP-RECYCLATE-1", "ABS-OUT-1", "BFR-1", "OTHER-1"}  # PP-OUT-1 was regenerated further
    assert all(o["model_attributed_kg"] > 0 for o in lots.values())
    everything = forward_model(plant["db"], "KM-24O1B", plant["store"], terminal_only=False)
    assert "PP-OUT-1" in {o["lot_id"] for o in everything["output_lots"]}


def test_split_by_count_when_mass_unknown() -> None:
    split, basis = split_over_products(10.0, [
        {"model": "A", "product_id": None, "manufacturer": None, "category": None, "n_items": 3, "mass_kg": None},
        {"model": "B", "product_id": None, "manufacturer": None, "category": None, "n_items": 1, "mass_kg": 2.0}])
    assert basis.startswith("item count") and [p["attributed_kg"] for p in split] == [7.5, 2.5]


def test_violation_alarms_and_blocks_until_cleared(gateway_store: Any) -> None:
    world = build_plant(gateway_store, break_balance=True)
    db: Database = world["db"]
    shr = next(s for s in world["steps"] if s["step_id"] == "SHR-1")
    assert not shr["balance"]["ok"]
    (alarm,) = alarms(db)
    assert alarm["scope"] == "step" and alarm["ref"] == "SHR-1"
    assert blocking_alarms(db, backward(db, "PP-OUT-1", gateway_store))
    assert not blocking_alarms(db, backward(db, "OTHER-1", gateway_store))  # not downstream of SHR-1
    start = T0
    period = period_balance(db, start, start + timedelta(days=30))
    assert not period["ok"] and period["failing_steps"] == ["SHR-1"]
    for a in alarms(db):
        assert clear_alarm(db, a["id"])
    assert not blocking_alarms(db, backward(db, "PP-OUT-1", gateway_store))


def test_cycles_and_bad_steps_rejected(plant: dict[str, Any]) -> None:
    t = datetime(2026, 3, 5, tzinfo=UTC)
    with pytest.raises(ValueError, match="own ancestor"):
        record_step(plant["db"], StepIn(kind="blending", started_at=t, ended_at=t,
                                        inputs=[{"lot_id": "PP-RECYCLATE-1", "mass_kg": 6.8}],
                                        outputs=[{"lot_id": "IN-1", "mass_kg": 6.8}]))
    with pytest.raises(ValueError):
        StepIn(kind="sorting", started_at=t, ended_at=t - timedelta(hours=1),
               inputs=[{"lot_id": "A", "mass_kg": 1}], outputs=[{"lot_id": "B", "mass_kg": 1}])
    with pytest.raises(ValueError):
        StepIn(kind="sorting", started_at=t, ended_at=t, inputs=[{"lot_id": "A", "mass_kg": 1}],
               outputs=[{"lot_id": "A", "mass_kg": 1}])


def test_merge_of_two_lines_and_rerecord_replaces(plant: dict[str, Any]) -> None:
    db: Database = plant["db"]
    t = datetime(2026, 3, 6, tzinfo=UTC)
    step = StepIn(step_id="BLEND-1", kind="blending", started_at=t, ended_at=t,
                  inputs=[{"lot_id": "PP-RECYCLATE-1", "mass_kg": 6.8}, {"lot_id": "ABS-OUT-1", "mass_kg": 6.0}],
                  outputs=[{"lot_id": "MIX-1", "mass_kg": 12.7}])
    record_step(db, step)
    record_step(db, step)
    assert len(db.rows("SELECT * FROM process_flows WHERE step_id = 'BLEND-1'")) == 3
    lin = backward(db, "MIX-1", plant["store"])
    assert sum(m.attributed_kg for m in lin.models) == pytest.approx(lin.source_input_mass_kg)
