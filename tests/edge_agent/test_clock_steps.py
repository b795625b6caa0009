"""Issue 15.5: a wall-clock step (a Pi without RTC, then NTP) must not close a lot early or put a weighing
before its lot opened, and must be seen: alarm, lot flagged, status shows the clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from edge_agent.clock import ClockWatch, sync_state
from edge_agent.config import load_config
from edge_agent.core import AgentCore
from edge_agent.drivers.base import DeviceReading
from edge_agent.publishing.outbox import SqliteOutbox
from junkan.core import measurement
from junkan.core.ids import new_id
from junkan.core.messages import CommandMessage
from junkan.core.topics import AgentTopics

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


class FakeTime:
    """Wall and monotonic clocks the test moves: ``run`` advances both, ``step`` only the wall."""

    def __init__(self) -> None:
        self.wall, self.mono = T0, 1000.0

    def run(self, s: float) -> None:
        self.wall += timedelta(seconds=s)
        self.mono += s

    def step(self, s: float) -> None:
        self.wall += timedelta(seconds=s)


def _core(tmp_path: Path, t: FakeTime, **overrides: object) -> AgentCore:
    config = load_config(REPO / "firmware_configs/lines/demo_line.yaml", {"lots.max_duration_s": 3600, **overrides})
    return AgentCore(config, SqliteOutbox(tmp_path / "o.db"), AgentTopics("s", "line-1", "a"), new_id(),
                     clock=lambda: t.wall, mono=lambda: t.mono,
                     sync_probe=lambda: {"synchronised": False, "max_error_us": 16_000_000})


def _open(core: AgentCore, t: FakeTime) -> None:
    core._handle("command", CommandMessage(cmd_id=new_id(), action="open_lot", line="line-1", lot_id="L1",
                                           issued_at=t.wall))


def test_forward_step_does_not_close_the_lot_by_duration(tmp_path: Path) -> None:
    t = FakeTime()
    core = _core(tmp_path, t)
    _open(core, t)
    t.run(40)
    t.step(10 * 3600)  # NTP corrects a clock that booted 10 h behind
    core._handle("tick", None)
    lot = core.lots.current
    assert lot is not None and lot.lot_id == "L1"  # was closed as max_duration before
    assert (t.wall - lot.opened_at).total_seconds() == 40  # the duration stayed true
    assert lot.evidence.clock_steps_s == [36000.0]
    assert any(a.startswith("clock_step") for a in core.alarms)
    assert core.clock_status.steps == 1 and core.clock_status.last_step_s == 36000.0
    result = measurement.measure(lot.evidence, opened_at=lot.opened_at, closed_at=t.wall)
    assert any("clock_step" in d.reason for d in result.devices.degraded)


def test_backward_step_keeps_weighings_inside_their_lot(tmp_path: Path) -> None:
    t = FakeTime()
    core = _core(tmp_path, t)
    _open(core, t)

    def frame(v: float, stable: bool = True) -> None:
        core._handle("reading", ("scale-pp", DeviceReading(kind="weight", value=v, unit="kg", stable=stable,
                                                           status="ok" if stable else "unstable", ts=t.wall)))
        t.run(0.1)

    for _ in range(4):
        frame(0.0)
    for _ in range(4):
        frame(20.0)
    t.step(-3 * 3600)
    for _ in range(4):
        frame(120.0)
    for _ in range(4):
        frame(0.0)
    core._flush_readings(force=True)
    lot = core.lots.current
    assert lot is not None and lot.n_weighings == 1
    (w,) = [r for r in _readings(core) if r["kind"] == "weighing"]
    started = datetime.fromisoformat(w["data"]["started_at"])
    assert started >= lot.opened_at  # the step moved both; before, started was 3 h before the lot opened
    assert w["value"] == 100.0


def test_unsynchronised_clock_flags_the_lot_when_sync_is_required(tmp_path: Path) -> None:
    t = FakeTime()
    core = _core(tmp_path, t, **{"clock.require_sync": True})
    _open(core, t)
    t.run(1)
    core._handle("tick", None)
    assert core.clock_status.synchronised is False
    assert core.lots.current is not None and core.lots.current.evidence.clock_unsynced


def test_clock_watch_ignores_running_time_and_small_slew() -> None:
    watch = ClockWatch(threshold_s=2.0)
    assert watch.observe(T0, 0.0) is None
    assert watch.observe(T0 + timedelta(seconds=100.5), 100.0) is None  # 0.5 s of slew: not a step
    assert watch.observe(T0 + timedelta(seconds=3000), 200.0) == 2800.0


def test_sync_state_reads_the_kernel() -> None:
    state = sync_state()
    assert state["source"] in ("adjtimex", "unavailable")
    assert state["synchronised"] in (True, False, None)


def _readings(core: AgentCore) -> list[dict]:  # type: ignore[type-arg]
    import json

    out = []
    for msg in core.outbox.after(0, 10_000):
        if msg.kind == "reading":
            out += json.loads(msg.payload)["body"]["readings"]
    return out
