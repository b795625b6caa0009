"""Forward lineage and the reports load lineage and screening for all their lots together: their statement
count must not grow with the number of lots (a per-lot query is a regression this test catches)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.store.base import Store
from gateway.traceability.lineage import LineageError, backward, forward_model, lineages
from gateway.traceability.repo import record_intake, record_step
from gateway.traceability.report import fiscal_year, recycled_content
from gateway.traceability.use import UseRepo
from junkan.core.traceability import IntakeIn, RecycledUseIn, StepIn
from tests.evidence.test_lineage_pure import CountingDatabase

T0 = datetime(2026, 3, 2, tzinfo=UTC)
FY = fiscal_year(2025)


def add_lines(store: Store, first: int, n: int) -> None:
    """``n`` more lines: intake IN-i (post-consumer, model TV-1 and one of its own) shredded, then sorted into
    a product OUT-i and a reject REJ-i; OUT-i is received and used by a manufacturer."""
    db, uses = store.db, UseRepo(store.db, store)
    for i in range(first, first + n):
        t = T0 + timedelta(hours=i)
        record_intake(db, IntakeIn(lot_id=f"IN-{i}", received_at=t, source_stream="weee", consumer="post_consumer",
                                   net_mass_kg=10.0, products=[{"model": "TV-1", "n_items": 1, "mass_kg": 6.0},
                                                               {"model": f"M-{i}", "n_items": 1, "mass_kg": 4.0}]))
        record_step(db, StepIn(step_id=f"SH-{i}", kind="shredding", started_at=t, ended_at=t,
                               inputs=[{"lot_id": f"IN-{i}", "mass_kg": 10.0}],
                               outputs=[{"lot_id": f"FL-{i}", "mass_kg": 10.0, "role": "product"}]))
        record_step(db, StepIn(step_id=f"SO-{i}", kind="sorting", started_at=t, ended_at=t + timedelta(minutes=30),
                               inputs=[{"lot_id": f"FL-{i}", "mass_kg": 10.0}],
                               outputs=[{"lot_id": f"OUT-{i}", "mass_kg": 8.0, "role": "product"},
                                        {"lot_id": f"REJ-{i}", "mass_kg": 2.0, "role": "reject"}]))
        uses.record(RecycledUseIn.model_validate({
            "use_id": f"U-{i}", "manufacturer": "Hoshi Appliances", "category": "refrigerator",
            "lot_id": f"OUT-{i}", "supplier": "Plant A", "received_at": "2026-03-10T09:00:00+09:00",
            "received_kg": 8.0, "used_kg": 8.0}))


def counted(store: Store, run: Callable[[Any], object]) -> int:
    counting = CountingDatabase(store.db)
    run(counting)
    return counting.statements


RUNS: dict[str, Callable[[Store], Callable[[Any], object]]] = {
    "forward_model": lambda store: lambda db: forward_model(db, "TV-1", store),
    "forward_model --all": lambda store: lambda db: forward_model(db, "TV-1", store, terminal_only=False),
    "recycled_content": lambda store: lambda db: recycled_content(db, store, *FY),
    "use report": lambda store: lambda db: UseRepo(db, store).report(*FY),
}


@pytest.mark.parametrize("name", sorted(RUNS))
def test_statements_do_not_grow_with_the_number_of_lots(gateway_store: Store, name: str) -> None:
    add_lines(gateway_store, 0, 4)
    at_n = counted(gateway_store, RUNS[name](gateway_store))
    add_lines(gateway_store, 4, 4)
    at_2n = counted(gateway_store, RUNS[name](gateway_store))
    assert at_2n == at_n, (name, at_n, at_2n)


def test_the_batched_lineages_are_each_lots_own(gateway_store: Store) -> None:
    add_lines(gateway_store, 0, 3)
    db = gateway_store.db
    lots = ["OUT-0", "REJ-1", "FL-2", "IN-0", "NOPE"]
    together = lineages(db, lots, gateway_store)
    for lot in lots[:-1]:
        assert together[lot] == backward(db, lot, gateway_store)
    assert isinstance(together["NOPE"], LineageError)
    assert together["REJ-1"].sources[0].lot_id == "IN-1"  # type: ignore[union-attr]
    forward = forward_model(db, "TV-1", gateway_store)
    assert [o["lot_id"] for o in forward["output_lots"]] == ["OUT-0", "OUT-1", "OUT-2", "REJ-0", "REJ-1", "REJ-2"]
    assert {o["model_attributed_kg"] for o in forward["output_lots"] if o["lot_id"].startswith("OUT")} == {4.8}
    report = recycled_content(db, gateway_store, *FY)
    assert report["totals"]["supplied_lot_mass_kg"] == 3 * 8.0 and report["lots_total"] == 3


def test_lots_in_different_chunks_share_steps_without_counting_them_twice(gateway_store: Store,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import gateway.traceability.graph as graph

    add_lines(gateway_store, 0, 2)
    db = gateway_store.db
    lots = ["FL-0", "OUT-0", "OUT-1", "REJ-0", "REJ-1"]  # OUT-0 and REJ-0 come from the same sorting step
    together = lineages(db, lots, gateway_store)
    monkeypatch.setattr(graph, "SEEDS", 1)
    one_by_one = lineages(db, lots, gateway_store)
    assert one_by_one == together
    assert together["OUT-0"].source_input_mass_kg == pytest.approx(8.0)  # type: ignore[union-attr]
    assert graph.descendants(db, ["IN-0", "FL-0", "IN-1"]) == ["FL-0", "FL-1", "OUT-0", "OUT-1", "REJ-0", "REJ-1"]
