"""Issue 15.1: a container already on the platform when the frames come back (agent restart, serial link
lost) must never become a 0 kg or gross-as-net "ok" weighing. Pure detector tests, then the agent core
restarted on the same outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edge_agent.config import load_config
from edge_agent.core import AgentCore
from edge_agent.drivers.base import DeviceReading
from edge_agent.lots.weighing import WeighingDetector, WeighingEvent
from edge_agent.publishing.outbox import SqliteOutbox
from junkan.core.ids import new_id
from junkan.core.messages import CommandMessage
from junkan.core.topics import AgentTopics
from tests.edge_agent.drive import readings_in, run_until_drained

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[2]
Frame = tuple[float, bool]


def feed(det: WeighingDetector, frames: list[Frame], start: int = 0) -> list[WeighingEvent]:
    out = []
    for i, (value, stable) in enumerate(frames):
        ev = det.feed(T0 + timedelta(seconds=(start + i) * 0.1), value, stable, "ok" if stable else "unstable")
        if ev:
            out.append(ev)
    return out


def steady(value: float, n: int = 4) -> list[Frame]:
    return [(value, True)] * n


def moving(value: float, n: int = 3) -> list[Frame]:
    return [(value, False)] * n


def test_full_container_on_the_platform_at_start_is_tare_unknown_never_ok() -> None:
    det = WeighingDetector("s1", division_kg=0.02)
    (event,) = feed(det, steady(120.0) + moving(60.0) + steady(0.0))
    assert event.status == "degraded" and event.reason == "tare_unknown"
    assert event.net_kg == 0.0  # not counted; the old detector said tare=gross, net 0.0, ok
    assert event.net_upper_kg == pytest.approx(120.0)


def test_restart_mid_fill_resumes_the_checkpointed_container() -> None:
    det = WeighingDetector("s1", division_kg=0.02)
    assert feed(det, steady(0.0) + moving(10.0) + steady(20.0) + moving(40.0) + steady(60.0)) == []
    state = det.to_state()
    resumed = WeighingDetector("s1", division_kg=0.02)
    resumed.restore(state)  # the agent restarted; the fill went on meanwhile
    (event,) = feed(resumed, steady(95.0) + moving(50.0) + steady(0.0), start=100)
    assert event.status == "ok"
    assert event.tare_kg == pytest.approx(20.0)
    assert event.net_kg == pytest.approx(75.0)


def test_container_swapped_during_a_gap_is_tare_unknown() -> None:
    det = WeighingDetector("s1", division_kg=0.02)
    feed(det, steady(0.0) + moving(10.0) + steady(20.0) + moving(90.0) + steady(180.0))
    det.gap()  # link lost; meanwhile the full container left and a lighter one came
    (event,) = feed(det, steady(70.0) + moving(30.0) + steady(0.0), start=100)
    assert (event.status, event.reason) == ("degraded", "tare_unknown")


def test_container_removed_during_a_gap_is_gross_unknown() -> None:
    det = WeighingDetector("s1", division_kg=0.02)
    feed(det, steady(0.0) + moving(10.0) + steady(20.0) + moving(40.0) + steady(60.0))
    det.gap()
    (event,) = feed(det, steady(0.0), start=100)
    assert (event.status, event.reason) == ("degraded", "gross_unknown")


def test_known_empty_container_tare_explains_a_load_after_a_gap() -> None:
    det = WeighingDetector("s1", division_kg=0.02, empty_tare_kg=(18.0, 22.0))
    (event,) = feed(det, steady(20.5) + moving(80.0) + steady(170.5) + moving(50.0) + steady(0.0))
    assert event.status == "ok" and event.net_kg == pytest.approx(150.0)


def test_empty_container_round_trip_is_not_an_ok_zero_weighing() -> None:
    det = WeighingDetector("s1", division_kg=0.02)
    (event,) = feed(det, steady(0.0) + moving(10.0) + steady(20.0) + moving(10.0) + steady(0.0))
    assert (event.status, event.reason) == ("degraded", "no_net_mass")


def _core(tmp_path: Path) -> tuple[AgentCore, SqliteOutbox]:
    config = load_config(REPO / "firmware_configs/lines/demo_line.yaml", {"outbox.batch_size": 10})
    outbox = SqliteOutbox(tmp_path / "o.db")
    return AgentCore(config, outbox, AgentTopics("s", "line-1", "a"), new_id()), outbox


def _run(core: AgentCore, frames: list[Frame]) -> None:
    for value, stable in frames:
        core.submit_reading("scale-pp", DeviceReading(kind="weight", value=value, unit="kg", stable=stable,
                                                   status="ok" if stable else "unstable"))
    run_until_drained(core, settle_s=0.2)


def _weighings(outbox: SqliteOutbox) -> list[dict]:  # type: ignore[type-arg]
    return [r for r in readings_in(outbox) if r["kind"] == "weighing"]


def test_agent_restarted_mid_fill_resumes_from_the_outbox_checkpoint(tmp_path: Path) -> None:
    core, outbox = _core(tmp_path)
    _run(core, steady(0.0) + moving(10.0) + steady(25.0) + moving(50.0) + steady(80.0))
    outbox.close()
    again, outbox = _core(tmp_path)  # restarted: detector state comes back from the outbox
    _run(again, steady(125.0) + moving(60.0) + steady(0.0))
    (w,) = _weighings(outbox)
    assert w["status"] == "ok" and w["value"] == pytest.approx(100.0)


def test_agent_started_with_a_loaded_platform_flags_the_lot(tmp_path: Path) -> None:
    core, outbox = _core(tmp_path)
    _run(core, steady(140.0) + moving(60.0) + steady(0.0))
    (w,) = _weighings(outbox)
    assert w["status"] == "degraded" and w["value"] is None
    assert w["data"]["reason"] == "tare_unknown" and w["data"]["net_upper_kg"] == pytest.approx(140.0)
    assert any("tare_unknown" in a for a in core.alarms)
    lot = core.lots.current
    assert lot is not None and lot.net_mass_kg == 0.0
    assert lot.evidence.weighing_issues["scale-pp"]["tare_unknown"].count == 1


def test_lot_closed_with_a_container_on_the_scale_is_flagged(tmp_path: Path) -> None:
    """Found with the OPC UA line: the server restarted mid-fill, the operator closed the lot meanwhile, and
    the lot came out one container light with nothing flagged."""
    core, _ = _core(tmp_path)
    core.submit_command(CommandMessage(cmd_id=new_id(), action="open_lot", line="line-1", lot_id="L9",
                                       issued_at=datetime.now(UTC)))
    _run(core, steady(0.0) + moving(10.0) + steady(30.0) + moving(50.0))  # placed, filling
    lot = core.lots.current
    assert lot is not None
    measured = core._measure(lot, datetime.now(UTC))
    assert any("closed with a container on the scale" in d.reason for d in measured.devices.degraded)


def test_gap_long_enough_for_a_container_swap_is_never_resumed() -> None:
    """Found with the OPC UA line: the server was down while container 1 left and container 2 was filled; the
    detector resumed (load higher than before) and merged tare 1 with gross 2 into one ok weighing."""
    det = WeighingDetector("s1", division_kg=0.02, resume_max_gap_s=20.0)
    feed(det, steady(0.0) + moving(10.0) + steady(31.6))
    det.gap(45.0)
    (event,) = feed(det, steady(140.1) + moving(60.0) + steady(0.0), start=100)
    assert (event.status, event.reason) == ("degraded", "tare_unknown")
    short = WeighingDetector("s1", division_kg=0.02, resume_max_gap_s=20.0)
    feed(short, steady(0.0) + moving(10.0) + steady(31.6))
    short.gap(3.0)  # a short restart: the fill went on
    (event,) = feed(short, steady(140.1) + moving(60.0) + steady(0.0), start=100)
    assert event.status == "ok" and event.net_kg == pytest.approx(108.5)
