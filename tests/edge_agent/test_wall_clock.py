"""One wall clock for the whole agent (issue 15.5): every wall-time read goes through ``edge_agent.clock``,
so a simulated plant can step the agent's clock (scenario fault ``clock_step``) without libfaketime, and
only a simulated plant can."""

from __future__ import annotations

import ast
import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edge_agent import clock
from edge_agent.app import _wall_clock
from edge_agent.clock import WallClock, use_wall_clock, wall_now, wall_time
from edge_agent.config import ConfigError, load_config
from edge_agent.core import AgentCore
from edge_agent.publishing.outbox import SqliteOutbox
from junkan.core import measurement
from junkan.core.ids import new_id
from junkan.core.messages import CommandMessage
from junkan.core.topics import AgentTopics

REPO = Path(__file__).resolve().parents[2]
_TIME_READS = {"time", "time_ns", "localtime", "gmtime", "ctime", "asctime"}
_DATETIME_READS = {"now", "utcnow", "today"}


def _wall_reads(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "time":
            found += [f"from time import {a.name}" for a in node.names if a.name in _TIME_READS]
        if not isinstance(node, ast.Attribute):
            continue
        base = node.value
        name = base.id if isinstance(base, ast.Name) else base.attr if isinstance(base, ast.Attribute) else None
        if (name == "time" and node.attr in _TIME_READS) or (name in ("datetime", "date")
                                                              and node.attr in _DATETIME_READS):
            found.append(f"{name}.{node.attr} (line {node.lineno})")
    return found


def test_no_module_but_the_clock_reads_wall_time() -> None:
    offenders = {}
    for path in sorted((REPO / "edge_agent").rglob("*.py")):
        if path.name == "clock.py" and path.parent.name == "edge_agent":
            continue
        found = _wall_reads(ast.parse(path.read_text(encoding="utf-8")))
        if found:
            offenders[str(path.relative_to(REPO))] = found
    assert offenders == {}, "read wall time through edge_agent.clock.wall_now/wall_time"


def test_the_check_sees_wall_time_reads() -> None:
    src = "import time\nfrom datetime import datetime\nfrom time import time_ns\na = time.time()\nb = datetime.now()\n"
    assert len(_wall_reads(ast.parse(src))) == 3
    assert _wall_reads(ast.parse("import time\nt = time.monotonic()\n")) == []


def test_offset_file_moves_the_agent_clock_when_it_changes(tmp_path: Path) -> None:
    offset = tmp_path / "offset"
    offset.write_text("-36000\n")
    wall = WallClock(offset, recheck_s=0.0)
    assert abs(wall.time() - (time.time() - 36000)) < 1.0
    tmp = tmp_path / "offset.tmp"
    tmp.write_text("0\n")
    os.replace(tmp, offset)  # as the scenario runner writes it
    assert abs(wall.time() - time.time()) < 1.0
    offset.write_text("not a number")  # half written: the last offset stays
    assert abs(wall.time() - time.time()) < 1.0
    assert abs(WallClock().time() - time.time()) < 1.0


def test_agent_modules_follow_the_installed_clock(tmp_path: Path) -> None:
    offset = tmp_path / "offset"
    offset.write_text("3600")
    previous = use_wall_clock(WallClock(offset, recheck_s=0.0))
    try:
        assert abs((wall_now() - datetime.now(UTC)).total_seconds() - 3600) < 1.0
        assert abs(wall_time() - time.time() - 3600) < 1.0
        outbox = SqliteOutbox(tmp_path / "o.db")
        config = load_config(REPO / "firmware_configs/lines/demo_line.yaml")
        core = AgentCore(config, outbox, AgentTopics("s", "line-1", "a"), new_id())
        core._handle("command", CommandMessage(cmd_id=new_id(), action="open_lot", line="line-1", lot_id="L1",
                                               issued_at=datetime.now(UTC)))
        assert core.lots.current is not None
        assert abs((core.lots.current.opened_at - datetime.now(UTC)).total_seconds() - 3600) < 1.0
    finally:
        use_wall_clock(previous)
    assert clock._WALL[0] is previous


def test_simulation_section_is_refused_outside_a_simulated_plant(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(REPO / "firmware_configs/lines/demo_line.yaml",
                         {"simulation": {"clock_offset_file": str(tmp_path / "offset")}})
    monkeypatch.delenv("JUNKAN_SIMULATION", raising=False)
    with pytest.raises(ConfigError, match="simulated plants only"):
        _wall_clock(config)
    monkeypatch.setenv("JUNKAN_SIMULATION", "1")
    assert _wall_clock(config).offset_file == tmp_path / "offset"
    assert _wall_clock(load_config(REPO / "firmware_configs/lines/demo_line.yaml")).offset_file is None


def test_a_step_keeps_the_devices_silences_true(tmp_path: Path) -> None:
    """Before the step the lot's device times were not shifted: a camera that spoke every second showed
    'no readings for 36001 s during the lot'."""
    t = {"wall": datetime(2026, 12, 2, 8, 0, tzinfo=UTC), "mono": 1000.0}
    config = load_config(REPO / "firmware_configs/lines/demo_line.yaml", {"lots.max_duration_s": 3600})
    core = AgentCore(config, SqliteOutbox(tmp_path / "o.db"), AgentTopics("s", "line-1", "a"), new_id(),
                     clock=lambda: t["wall"], mono=lambda: t["mono"],
                     sync_probe=lambda: {"synchronised": True, "max_error_us": 1000})
    core._handle("command", CommandMessage(cmd_id=new_id(), action="open_lot", line="line-1", lot_id="L1",
                                           issued_at=t["wall"]))
    from edge_agent.drivers.base import DeviceReading

    def run(s: float) -> None:
        for _ in range(int(s)):
            core._handle("reading", ("nir-sorter", DeviceReading(kind="nir_counts", data={"counts": {}})))
            t["wall"] += timedelta(seconds=1)
            t["mono"] += 1

    run(20)
    t["wall"] += timedelta(hours=10)  # the step
    run(20)
    lot = core.lots.current
    assert lot is not None and lot.evidence.clock_steps_s == [36000.0]
    result = measurement.measure(lot.evidence, opened_at=lot.opened_at, closed_at=t["wall"])
    reasons = [d.reason for d in result.devices.degraded]
    assert not any("no readings" in r for r in reasons), reasons
    assert any("clock_step" in r for r in reasons)


def test_a_device_clock_ahead_of_the_agent_is_named_not_taken_for_silence(tmp_path: Path) -> None:
    """An XRF with the right time and an agent booted 10 h behind: the lot showed 'xrf: no readings for
    36000 s during the lot'; now it counts the readings on arrival and names the clock disagreement."""
    t = {"wall": datetime(2026, 12, 2, 8, 0, tzinfo=UTC), "mono": 1000.0}
    config = load_config(REPO / "firmware_configs/lines/demo_line.yaml")
    core = AgentCore(config, SqliteOutbox(tmp_path / "o.db"), AgentTopics("s", "line-1", "a"), new_id(),
                     clock=lambda: t["wall"], mono=lambda: t["mono"],
                     sync_probe=lambda: {"synchronised": True, "max_error_us": 1000})
    core._handle("command", CommandMessage(cmd_id=new_id(), action="open_lot", line="line-1", lot_id="L1",
                                           issued_at=t["wall"]))
    from edge_agent.drivers.base import DeviceReading

    for _ in range(30):
        xrf_time = t["wall"] + timedelta(hours=10)
        core._handle("reading", ("xrf", DeviceReading(kind="xrf", ts=xrf_time, data={
            "elements": {"Br": {"ppm": 3.0, "error": 1.0}}, "instrument_time": xrf_time.isoformat()})))
        core._flush_readings(force=True)  # the live loop commits what arrived, turn by turn
        t["wall"] += timedelta(seconds=1)
        t["mono"] += 1
    lot = core.lots.current
    assert lot is not None
    result = measurement.measure(lot.evidence, opened_at=lot.opened_at, closed_at=t["wall"])
    reasons = [d.reason for d in result.devices.degraded if d.device == "xrf"]
    assert not any("no readings" in r for r in reasons), reasons
    assert any(r.startswith("device_clock:") for r in reasons), reasons
    stored = [json.loads(m.payload)["body"]["readings"] for m in core.outbox.after(0, 100) if m.kind == "reading"]
    assert stored and stored[0][0]["ts"].startswith("2026-12-02T18:00")  # the reading keeps the XRF's time
    # a restart folds the lot's readings again from the outbox: by when they were sent, not by the XRF's time
    again = AgentCore(config, SqliteOutbox(tmp_path / "o.db"), AgentTopics("s", "line-1", "a"), new_id(),
                      clock=lambda: t["wall"], mono=lambda: t["mono"],
                      sync_probe=lambda: {"synchronised": True, "max_error_us": 1000})
    lot = again.lots.current
    assert lot is not None and lot.lot_id == "L1" and lot.evidence.activity["xrf"].n == 30
    result = measurement.measure(lot.evidence, opened_at=lot.opened_at, closed_at=t["wall"])
    reasons = [d.reason for d in result.devices.degraded if d.device == "xrf"]
    assert not any("no readings" in r for r in reasons), reasons
    assert any(r.startswith("device_clock:") for r in reasons), reasons
