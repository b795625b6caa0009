"""The agent core with a real outbox: checkpoints commit with their readings; a full outbox applies
back-pressure instead of dropping critical readings."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from edge_agent.config import load_config
from edge_agent.core import AgentCore
from edge_agent.drivers.base import DeviceReading
from edge_agent.publishing.outbox import OutgoingMessage, SqliteOutbox
from junkan.core.ids import new_id
from junkan.core.topics import AgentTopics
from tests.edge_agent.drive import readings_in

REPO = Path(__file__).resolve().parents[2]


def make_core(tmp_path: Path, max_messages: int = 1000) -> tuple[AgentCore, SqliteOutbox]:
    config = load_config(REPO / "firmware_configs/lines/demo_line.yaml", {"outbox.batch_size": 10})
    outbox = SqliteOutbox(tmp_path / "o.db", max_messages=max_messages)
    return AgentCore(config, outbox, AgentTopics("s", "line-1", "a"), new_id()), outbox


def run_for(core: AgentCore, seconds: float) -> None:
    stop = threading.Event()
    thread = threading.Thread(target=core.run, args=(stop,))
    thread.start()
    time.sleep(seconds)
    stop.set()
    thread.join(5)


def event(i: int) -> DeviceReading:
    return DeviceReading(kind="nir_object", data={"polymer": "PP", "event_id": i}, checkpoint={"last_id": i})


def test_checkpoint_is_committed_with_its_readings_and_resumed(tmp_path: Path) -> None:
    core, outbox = make_core(tmp_path)
    for i in range(25):
        core.submit_reading("nir", event(i))
    run_for(core, 0.5)
    assert [r["data"]["event_id"] for r in readings_in(outbox)] == list(range(25))
    assert outbox.load_state()["checkpoints"] == {"nir": {"last_id": 24}}
    again, _ = make_core(tmp_path)  # a restarted agent knows where the source stood
    assert again.checkpoints == {"nir": {"last_id": 24}}
    assert again.device_seq["nir"] == 24


def test_full_outbox_holds_critical_readings_until_there_is_room(tmp_path: Path) -> None:
    core, outbox = make_core(tmp_path, max_messages=100)
    outbox.enqueue([OutgoingMessage(i, new_id(), "filler", "t", b"{}") for i in range(1, 101)])
    core.seq = 100
    for i in range(30):
        core.submit_reading("nir", event(i))
    run_for(core, 0.5)
    assert any(a.startswith("outbox full") for a in core.alarms)
    assert readings_in(outbox) == []  # nothing fitted; nothing was dropped either
    assert "checkpoints" not in outbox.load_state()  # the source position did not run ahead
    outbox.delete([m.msg_id for m in outbox.after(0, 1000)])  # the gateway acked the backlog
    run_for(core, 0.5)
    got = [r["data"]["event_id"] for r in readings_in(outbox)]
    assert got == list(range(30))
    seqs = [m.seq for m in outbox.after(0, 1000)]
    assert seqs == list(range(101, 101 + len(seqs)))  # no sequence numbers burnt by the failed attempts


def test_disk_full_outbox_keeps_agent_running_and_recovers(tmp_path: Path) -> None:
    config = load_config(REPO / "firmware_configs/lines/demo_line.yaml", {"outbox.batch_size": 10})
    outbox = SqliteOutbox(tmp_path / "o.db", max_bytes=1_000_000)
    core = AgentCore(config, outbox, AgentTopics("s", "line-1", "a"), new_id())
    big = "x" * 2000
    for i in range(800):  # ~1.6 MB of readings into a 1 MB budget
        core.submit_reading("nir", DeviceReading(kind="nir_object", data={"event_id": i, "pad": big}))
    run_for(core, 1.5)
    assert any("outbox write failed" in a and "full" in a for a in core.alarms)
    written = readings_in(outbox)
    assert 0 < len(written) < 800
    outbox.delete([m.msg_id for m in outbox.after(0, 100_000)])  # acks free the pages
    run_for(core, 2.0)
    written += readings_in(outbox)
    assert sorted(r["data"]["event_id"] for r in written) == list(range(800))  # nothing lost on the way
    assert not core.alarms


def test_corrupt_outbox_is_moved_aside_and_agent_starts(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    path.write_bytes(b"SQLite format 3\x00" + b"\xde\xad" * 4000)
    outbox = SqliteOutbox(path)
    assert outbox.recovered_from is not None and outbox.recovered_from.exists()
    outbox.enqueue([OutgoingMessage(1, new_id(), "reading", "t", b"{}")])
    assert outbox.depth()[0] == 1
