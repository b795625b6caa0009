"""Issue 15.7 (SD-card wear) without losing anything: the open lot's evidence is checkpointed at most every
``lot_state_interval_s``, acked messages newer than the checkpoint stay in the file (never resent) and are
re-folded after a crash; seq and device_seq are never reused; big state values round-trip compressed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from edge_agent.config import load_config
from edge_agent.core import AgentCore
from edge_agent.drivers.base import DeviceReading
from edge_agent.publishing.outbox import OutgoingMessage, SqliteOutbox
from junkan.core.ids import new_id
from junkan.core.messages import CommandMessage
from junkan.core.topics import AgentTopics

REPO = Path(__file__).resolve().parents[2]


def _core(tmp_path: Path, interval: float = 3600) -> AgentCore:
    config = load_config(REPO / "firmware_configs/lines/demo_line.yaml", {"outbox.lot_state_interval_s": interval})
    return AgentCore(config, SqliteOutbox(tmp_path / "o.db"), AgentTopics("s", "line-1", "a"), new_id())


def _feed(core: AgentCore, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        core._handle("reading", ("nir", DeviceReading(kind="nir_object", data={"polymer": "PP", "size_mm": 10.0,
                                                                               "event_id": i})))
        core._flush_readings(force=True)


def _ack_all(outbox: SqliteOutbox) -> None:
    outbox.delete([m.msg_id for m in outbox.after(0, 10_000)])
    outbox.purge_acked()


def test_crash_between_lot_checkpoints_refolds_acked_readings(tmp_path: Path) -> None:
    core = _core(tmp_path)
    core._handle("command", CommandMessage(cmd_id=new_id(), action="open_lot", line="line-1", lot_id="L1",
                                           issued_at=datetime.now(UTC)))
    _feed(core, 20)
    seq_before = core.seq
    _ack_all(core.outbox)  # the gateway has them all
    assert core.outbox.after(0, 100) == []  # acked: never sent again ...
    assert len(core.outbox.retained(0)) >= 20  # ... but kept: the lot checkpoint predates them
    # crash: no close, no state write; a new process on the same file
    again = _core(tmp_path)
    lot = again.lots.current
    assert lot is not None and lot.lot_id == "L1"
    assert lot.evidence.objects["PP"].n == 20  # every folded reading is back
    assert again.seq >= seq_before and again.device_seq["nir"] == 19  # numbers are never reused
    _feed(again, 1, start=20)
    assert again.device_seq["nir"] == 20


def test_acked_messages_leave_the_file_once_the_lot_is_checkpointed(tmp_path: Path) -> None:
    core = _core(tmp_path, interval=0)  # checkpoint with every message
    core._handle("command", CommandMessage(cmd_id=new_id(), action="open_lot", line="line-1", lot_id="L2",
                                           issued_at=datetime.now(UTC)))
    _feed(core, 10)
    _ack_all(core.outbox)
    assert core.outbox.retained(0) == []
    assert core.outbox.depth()[0] == 0


def test_depth_counts_only_unacked(tmp_path: Path) -> None:
    outbox = SqliteOutbox(tmp_path / "o.db")
    outbox.enqueue([OutgoingMessage(i, new_id(), "reading", "t", b"{}") for i in range(1, 6)])
    outbox.retain_after_seq = 0  # nothing may be deleted yet
    outbox.delete([m.msg_id for m in outbox.after(0, 2)])
    assert outbox.depth()[0] == 3 and [m.seq for m in outbox.after(0, 10)] == [3, 4, 5]


def test_large_state_values_round_trip_compressed(tmp_path: Path) -> None:
    outbox = SqliteOutbox(tmp_path / "o.db")
    big = {"evidence": {"xrf": [[i, 3.0, i % 2 == 0] for i in range(2000)]}}
    outbox.enqueue([], {"open_lot": big, "seq": 7})
    raw = outbox._conn().execute("SELECT value FROM state WHERE key='open_lot'").fetchone()[0]
    assert isinstance(raw, bytes) and len(raw) < len(str(big)) / 3
    assert SqliteOutbox(tmp_path / "o.db").load_state() == {"open_lot": big, "seq": 7}
