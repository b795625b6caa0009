"""Weighing detection and lot aggregation: pure functions, driven frame by frame."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from edge_agent.lots.aggregator import LotAggregator, LotClosed, LotOpened, LotPolicy
from edge_agent.lots.weighing import WeighingDetector

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def frames(detector: WeighingDetector, values: list[tuple[float | None, bool, str]], start: int = 0):
    events = []
    for i, (value, stable, status) in enumerate(values):
        ev = detector.feed(T0 + timedelta(seconds=(start + i) * 0.1), value, stable, status)
        if ev:
            events.append(ev)
    return events


def cycle(tare: float, gross: float) -> list[tuple[float | None, bool, str]]:
    return ([(0.0, True, "ok")] * 4 + [(tare / 2, False, "unstable")] * 3 + [(tare, True, "ok")] * 4
            + [(tare + 30, False, "unstable")] * 5 + [(gross, True, "ok")] * 4
            + [(gross / 3, False, "unstable")] * 2 + [(0.0, True, "ok")] * 4)


def test_container_cycle_gives_net_of_gross_minus_tare() -> None:
    det = WeighingDetector("s1", division_kg=0.02, stable_frames=3)
    (event,) = frames(det, cycle(31.24, 231.24 + 0.5))
    assert event.tare_kg == pytest.approx(31.24)
    assert event.gross_kg == pytest.approx(231.74)
    assert event.net_kg == pytest.approx(200.5)


def test_drifting_zero_is_tracked_so_containers_still_come_and_go() -> None:
    """A zero that creeps up 0.3 kg per container cycle passes the 0.5 kg empty band after two cycles;
    judged against the tracked zero, every container still yields its weighing, drift reported."""
    det = WeighingDetector("s1", division_kg=0.02, stable_frames=3, zero_band_kg=0.5)
    events = []
    for k in range(6):
        drift = 0.3 * k
        seq = [(v + drift if stable else v, stable, status) for v, stable, status in cycle(30.0, 230.0)]
        events += frames(det, seq, start=100 * k)
    assert len(events) == 6
    assert all(e.net_kg == pytest.approx(200.0) for e in events)
    assert [round(e.zero_kg, 2) for e in events] == [0.0, 0.3, 0.6, 0.9, 1.2, 1.5]
    assert all(e.drift_kg == 0.0 for e in events)  # the zero stood still while each container was on
    assert det.is_empty(1.5 + 0.4) and not det.is_empty(1.5 + 0.6)


def test_zero_moving_during_the_fill_is_taken_off_the_net_and_shown() -> None:
    """Zero creeping 0.01 kg per frame all through the cycle: the raw gross - tare is off by the creep
    between the tare and gross instants; the weighing removes it (linear between the zeros) and says so."""
    det = WeighingDetector("s1", division_kg=0.02, stable_frames=3, zero_band_kg=0.5)
    seq = cycle(30.0, 230.0)
    (event,) = frames(det, [(v + 0.01 * i, True, status) if stable else (v, stable, status)
                            for i, (v, stable, status) in enumerate(seq)])
    creep = event.gross_kg - event.tare_kg - 200.0
    assert creep > 0.05  # the raw net is visibly wrong
    assert event.drift_kg == pytest.approx(creep, abs=0.011)
    assert event.net_kg == pytest.approx(200.0, abs=0.011)
    assert event.zero_after_kg - event.zero_kg > 0.2


def test_overload_and_unstable_frames_never_become_mass() -> None:
    det = WeighingDetector("s1", division_kg=0.02, stable_frames=3)
    seq = [(0.0, True, "ok")] * 4 + [(30.0, True, "ok")] * 3
    seq += [(None, False, "overload")] * 10 + [(999.0, False, "unstable")] * 10 + [(0.0, True, "ok")] * 4
    (event,) = frames(det, seq)
    assert event.gross_kg == pytest.approx(30.0)  # the overload did not replace the last stable gross
    assert event.net_kg == pytest.approx(0.0)


def test_stable_run_must_agree_within_one_division() -> None:
    det = WeighingDetector("s1", division_kg=0.02, stable_frames=3)
    # Frames flagged stable by the device but jumping by 5 d never form a stable run.
    seq = [(0.0, True, "ok")] * 4 + [(30.0 + 0.1 * (i % 2), True, "ok") for i in range(20)] + [(0.0, True, "ok")] * 4
    assert frames(det, seq) == []


def test_aggregator_operator_lots_and_auto_close_by_mass() -> None:
    ids = iter(f"L{i}" for i in range(1, 10))
    agg = LotAggregator(LotPolicy(max_mass_kg=500.0, auto_open=False), new_lot_id=lambda ts: next(ids))
    det = WeighingDetector("s1", division_kg=0.02)
    (w1,) = frames(det, cycle(30.0, 330.0))
    lot_id, events = agg.add_weighing(w1)
    assert lot_id is None and events == []  # no lot open and auto_open off: not silently attributed
    (opened,) = agg.open(T0, "LOT-A")
    assert isinstance(opened, LotOpened) and opened.lot.lot_id == "LOT-A"
    lot_id, events = agg.add_weighing(w1)
    assert lot_id == "LOT-A" and events == []
    lot_id, events = agg.add_weighing(w1)  # 600 kg >= 500 kg: closes by mass
    assert lot_id == "LOT-A"
    (closed,) = events
    assert isinstance(closed, LotClosed) and closed.reason == "max_mass"
    assert closed.lot.net_mass_kg == pytest.approx(600.0) and closed.lot.n_weighings == 2
    assert agg.current is None


def test_aggregator_open_with_new_id_closes_previous_and_state_round_trips() -> None:
    agg = LotAggregator(LotPolicy(max_duration_s=3600), new_lot_id=lambda ts: "AUTO")
    agg.open(T0, "A")
    events = agg.open(T0 + timedelta(minutes=1), "B")
    assert [type(e).__name__ for e in events] == ["LotClosed", "LotOpened"]
    assert agg.open(T0, "B") == []  # re-opening the open lot (command redelivered) changes nothing
    state = agg.current.to_state()  # type: ignore[union-attr]
    from edge_agent.lots.aggregator import OpenLot

    assert OpenLot.from_state(state) == agg.current
    (closed,) = agg.tick(T0 + timedelta(hours=2))
    assert isinstance(closed, LotClosed) and closed.reason == "max_duration"
    assert agg.close(T0, lot_id="B") == []  # already closed
