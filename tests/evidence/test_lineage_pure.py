"""Lineage walk and assembly as pure functions over hand-built graphs; the loader's query count bounded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.store.base import Store
from gateway.store.db import Database
from gateway.traceability.graph import Graph, SourceRecord, load_graph
from gateway.traceability.lineage import LineageError, alarms_blocking, backward, lineage_of, walk
from gateway.traceability.repo import record_intake, record_step
from gateway.traceability.rows import IdentCount, IntakeLot
from junkan.core.evidence import Flow
from junkan.core.traceability import IntakeIn, StepIn

T = "2026-03-03T00:00:00+00:00"
INTAKE: IntakeLot = {"lot_id": "A", "received_at": T, "source_stream": "weee", "consumer": "post_consumer",
                     "plant": "Plant A", "net_mass_kg": 100.0}


def step(step_id: str, ins: dict[str, float], outs: dict[str, float], ended_at: str = T) -> tuple[
        dict[str, Any], list[dict[str, Any]]]:
    row = {"step_id": step_id, "kind": "sorting", "plant": "P", "site": None, "ended_at": ended_at, "balance_ok": 1,
           "input_mass_kg": sum(ins.values()), "output_mass_kg": sum(outs.values()), "declared_loss_kg": 0.0}
    flows = [{"step_id": step_id, "direction": d, "lot_id": lot, "mass_kg": kg}
             for d, side in (("in", ins), ("out", outs)) for lot, kg in side.items()]
    return row, flows


def graph(*steps: tuple[dict[str, Any], list[dict[str, Any]]]) -> Graph:
    return Graph.of([s for s, _ in steps], [f for _, fl in steps for f in fl])


def test_walk_splits_mass_over_inputs_by_output_share() -> None:
    # S1: A 60 + B 40 -> X 50 + Y 50 ; S2: X 50 + C 50 -> OUT 80
    g = graph(step("S1", {"A": 60.0, "B": 40.0}, {"X": 50.0, "Y": 50.0}),
              step("S2", {"X": 50.0, "C": 50.0}, {"OUT": 80.0}))
    sources, steps = walk(g, "OUT", 80.0)
    # OUT takes all of S2's inputs: X 50, C 50; X is half of S1's output: A 30, B 20
    assert sources == pytest.approx({"A": 30.0, "B": 20.0, "C": 50.0})
    assert set(steps) == {"S1", "S2"}
    assert steps["S1"].inputs == [Flow(lot_id="A", mass_kg=60.0), Flow(lot_id="B", mass_kg=40.0)]
    assert steps["S1"].balance_ok is True


def test_walk_of_a_lot_made_by_two_steps_weights_them_by_their_output() -> None:
    g = graph(step("S1", {"A": 10.0}, {"OUT": 10.0}), step("S2", {"B": 30.0}, {"OUT": 30.0}))
    sources, _ = walk(g, "OUT", 40.0)
    assert sources == pytest.approx({"A": 10.0, "B": 30.0})


def test_walk_refuses_cycles_and_depth_beyond_the_bound() -> None:
    cyclic = graph(step("S1", {"A": 1.0}, {"B": 1.0}), step("S2", {"B": 1.0}, {"A": 1.0}))
    with pytest.raises(LineageError, match="cycle"):
        walk(cyclic, "A", 1.0)
    chain = graph(*(step(f"S{i}", {f"L{i + 1}": 1.0}, {f"L{i}": 1.0}) for i in range(5)))
    assert walk(chain, "L0", 1.0, max_depth=5)[0] == {"L5": 1.0}
    with pytest.raises(LineageError, match="deeper than 4"):
        walk(chain, "L0", 1.0, max_depth=4)


def test_lineage_of_allocates_to_products_and_reports_the_unattributed() -> None:
    records = {"A": SourceRecord(INTAKE, [{"model": "M1", "product_id": "p1", "manufacturer": "Acme",
                                           "category": "tv", "n_items": 1, "mass_kg": 3.0},
                                          {"model": "M2", "product_id": None, "manufacturer": None,
                                           "category": None, "n_items": 1, "mass_kg": 1.0}])}
    lin = lineage_of("OUT", 35.0, {"A": 40.0, "B": 10.0}, {}, records)
    assert lin.source_input_mass_kg == 50.0 and lin.lot_mass_kg == 35.0
    assert {m.model: m.attributed_kg for m in lin.models} == {"M1": 30.0, "M2": 10.0}
    assert lin.unattributed_kg == 10.0  # B has no record
    assert lin.plants == ["Plant A"]
    by_lot = {s.lot_id: s for s in lin.sources}
    assert by_lot["B"].allocation == "none" and by_lot["A"].allocation == "product mass"


def test_alarms_blocking_matches_steps_and_periods() -> None:
    g = graph(step("S1", {"A": 1.0}, {"OUT": 1.0}, ended_at="2026-03-03T00:00:00+00:00"))
    lin = lineage_of("OUT", 1.0, *walk(g, "OUT", 1.0), {})
    alarms: list[Any] = [{"scope": "step", "ref": "S1"}, {"scope": "step", "ref": "S9"},
                         {"scope": "period", "ref": "2026-03-01T00:00:00+00:00/2026-04-01T00:00:00+00:00"},
                         {"scope": "period", "ref": "2026-04-01T00:00:00+00:00/2026-05-01T00:00:00+00:00"}]
    assert alarms_blocking(alarms, lin) == [alarms[0], alarms[2]]


class CountingDatabase:
    """The store's database, counting the statements lineage runs."""

    def __init__(self, db: Database) -> None:
        self.db, self.statements = db, 0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.db, name)
        if name in ("rows", "one", "scalar", "execute"):
            def counted(*args: Any, **kwargs: Any) -> Any:
                self.statements += 1
                return attr(*args, **kwargs)
            return counted
        return attr


def test_a_deep_lineage_is_loaded_in_a_bounded_number_of_queries(gateway_store: Store) -> None:
    """30 chained steps over 2 intake lots: the old walk ran ~3 queries per step and ~6 per source."""
    db = gateway_store.db
    t0 = datetime(2026, 3, 2, tzinfo=UTC)
    for src in ("IN-A", "IN-B"):
        record_intake(db, IntakeIn(lot_id=src, received_at=t0, source_stream="weee", net_mass_kg=50.0,
                                   products=[{"model": f"M-{src}", "n_items": 2}]))
    record_step(db, StepIn(step_id="S00", kind="shredding", started_at=t0, ended_at=t0,
                           inputs=[{"lot_id": "IN-A", "mass_kg": 50.0}, {"lot_id": "IN-B", "mass_kg": 50.0}],
                           outputs=[{"lot_id": "L00", "mass_kg": 100.0}]))
    for i in range(1, 30):
        t = t0 + timedelta(hours=i)
        record_step(db, StepIn(step_id=f"S{i:02d}", kind="sorting", started_at=t, ended_at=t,
                               inputs=[{"lot_id": f"L{i - 1:02d}", "mass_kg": 100.0}],
                               outputs=[{"lot_id": f"L{i:02d}", "mass_kg": 100.0}]))
    counting = CountingDatabase(db)
    lin = backward(counting, "L29", gateway_store)  # type: ignore[arg-type]
    assert len(lin.steps) == 30 and {s.lot_id for s in lin.sources} == {"IN-A", "IN-B"}
    assert lin.source_input_mass_kg == pytest.approx(100.0)
    assert counting.statements <= 10, counting.statements
    assert set(load_graph(db, "L29", max_depth=3).steps) == {"S29", "S28", "S27", "S26"}


def test_origin_counts_identifications_per_source_lot_from_loaded_rows() -> None:
    from gateway.evidence.build import origin_section

    records = {"A": SourceRecord(INTAKE, [{"model": "M1", "product_id": "p1", "manufacturer": "Acme",
                                           "category": "tv", "n_items": 3, "mass_kg": None}])}
    lineage = lineage_of("OUT", 40.0, {"A": 40.0, "B": 10.0}, {}, records)
    rows: dict[str, list[IdentCount]] = {"A": [
        {"status": "matched", "method": "gtin", "n": 2}, {"status": "resolved", "method": "operator", "n": 1},
        {"status": "unmatched", "method": None, "n": 4}]}
    origin = origin_section(lineage, rows)
    assert origin.identifications == {"A": {"gtin": 2, "operator": 1, "unmatched": 4}}
    assert origin.status == "partly_traced"  # B has no intake record
    assert origin.post_consumer_share == 0.8
    assert origin_section(None, {}).status == "untraced"
