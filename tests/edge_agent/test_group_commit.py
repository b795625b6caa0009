"""Issue 15.7, SD-card profile: ``outbox.commit_interval_s`` holds plain readings in memory and commits them
together. Nothing held is ever sent, so a crash loses only readings the gateway never saw, and no sequence
number the gateway has is reused; weighings and lot events commit at once, in order, with the held ones."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from edge_agent.config import load_config
from edge_agent.core import AgentCore
from edge_agent.drivers.base import DeviceReading
from edge_agent.publishing.outbox import SqliteOutbox
from junkan.core.ids import new_id
from junkan.core.messages import CommandMessage
from junkan.core.topics import AgentTopics

REPO = Path(__file__).resolve().parents[2]


class Mono:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _core(tmp_path: Path, mono: Mono, commit_s: float = 5.0) -> AgentCore:
    config = load_config(REPO / "firmware_configs/lines/demo_line.yaml",
                         {"outbox.commit_interval_s": commit_s, "outbox.lot_state_interval_s": 3600})
    return AgentCore(config, SqliteOutbox(tmp_path / "o.db"), AgentTopics("s", "line-1", "a"), new_id(),
                     mono=mono)


def _open(core: AgentCore, lot_id: str = "L1") -> None:
    core._handle("command", CommandMessage(cmd_id=new_id(), action="open_lot", line="line-1", lot_id=lot_id,
                                           issued_at=datetime.now(UTC)))


def _reading(core: AgentCore, i: int) -> None:
    core._handle("reading", ("nir", DeviceReading(kind="nir_object", data={"polymer": "PP", "size_mm": 10.0,
                                                                           "event_id": i})))
    core._flush_readings(force=True)


def _holding_three(tmp_path: Path) -> tuple[AgentCore, Mono]:
    """A core with lot L1 open and readings 0, 1, 2 held in the commit window (none sendable yet)."""
    mono = Mono()
    core = _core(tmp_path, mono)
    _open(core)
    for i in range(3):
        _reading(core, i)
    return core, mono


def _sendable_events(core: AgentCore) -> list[int]:
    """event_id of every reading the publisher could send now (what the gateway may ever see)."""
    out = []
    for m in core.outbox.after(0, 10_000):
        if m.kind == "reading":
            out += [r["data"]["event_id"] for r in json.loads(m.payload)["body"]["readings"]
                    if r["kind"] == "nir_object"]
    return out


def test_readings_wait_for_the_window_then_commit_together_in_order(tmp_path: Path) -> None:
    mono = Mono()
    core = _core(tmp_path, mono)
    _open(core)
    before = len(core.outbox.after(0, 100))  # the lot event commits at once
    for i in range(4):
        _reading(core, i)
        mono.t += 1.0
    assert _sendable_events(core) == [] and len(core.outbox.after(0, 100)) == before  # held: not sendable
    mono.t += 1.5  # the window (5 s since the first held message) has passed
    _reading(core, 4)
    assert _sendable_events(core) == [0, 1, 2, 3, 4]
    seqs = [m.seq for m in core.outbox.after(0, 100)]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_a_lot_event_commits_at_once_with_the_held_readings_before_it(tmp_path: Path) -> None:
    core, _ = _holding_three(tmp_path)
    core._handle("command", CommandMessage(cmd_id=new_id(), action="close_lot", line="line-1", lot_id="L1",
                                           issued_at=datetime.now(UTC)))
    kinds = [m.kind for m in core.outbox.after(0, 100)]
    assert _sendable_events(core) == [0, 1, 2]
    assert kinds.index("lot") < kinds.index("reading") < len(kinds) - 1 and kinds[-1] == "lot"  # open, readings, close


def test_a_crash_loses_only_unsent_readings_and_reuses_no_sent_number(tmp_path: Path) -> None:
    core, mono = _holding_three(tmp_path)
    mono.t += 6
    _reading(core, 3)  # the window closed: 0..3 committed, sendable
    sent = {m.seq for m in core.outbox.after(0, 100)}
    _reading(core, 4)
    _reading(core, 5)  # held when the process dies
    assert _sendable_events(core) == [0, 1, 2, 3]
    core.outbox.close()  # crash: the core's memory is gone; no flush
    again = _core(tmp_path, Mono())
    assert again.seq >= max(sent)
    _reading(again, 6)
    again._checkpoint_now()  # commit at once
    new = {m.seq for m in again.outbox.after(0, 100)} - sent
    assert new and min(new) > max(sent)  # numbers the gateway may have seen are never given to new data
    assert _sendable_events(again) == [0, 1, 2, 3, 6]  # 4 and 5 were never sendable, so never seen


def test_shutdown_commits_what_is_held(tmp_path: Path) -> None:
    import threading

    mono = Mono()
    core = _core(tmp_path, mono, commit_s=30.0)
    _open(core)
    _reading(core, 0)
    assert _sendable_events(core) == []
    stop = threading.Event()
    stop.set()
    core.run(stop)  # the loop's exit path
    assert _sendable_events(core) == [0]


def test_zero_interval_commits_every_message(tmp_path: Path) -> None:
    mono = Mono()
    core = _core(tmp_path, mono, commit_s=0.0)
    _open(core)
    _reading(core, 0)
    assert _sendable_events(core) == [0]
