"""The durable outbox: atomic state, bounded size with per-class policy, ack and reject."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from edge_agent.publishing.outbox import OutboxFull, OutgoingMessage, SqliteOutbox


def msg(seq: int, data_class: str = "critical") -> OutgoingMessage:
    return OutgoingMessage(seq, f"M{seq:025d}", "reading", "t", b"{}", data_class)


def test_messages_survive_reopen_with_state(tmp_path: Path) -> None:
    box = SqliteOutbox(tmp_path / "o.db")
    box.enqueue([msg(1), msg(2)], {"seq": 2, "open_lot": {"lot_id": "A"}})
    box.close()
    again = SqliteOutbox(tmp_path / "o.db")
    assert [m.seq for m in again.after(0, 10)] == [1, 2]
    assert again.load_state() == {"seq": 2, "open_lot": {"lot_id": "A"}}
    assert again.delete([msg(1).msg_id]) == 1
    assert [m.seq for m in again.after(0, 10)] == [2]
    assert again.depth()[0] == 1


def test_failed_enqueue_writes_neither_messages_nor_state(tmp_path: Path) -> None:
    box = SqliteOutbox(tmp_path / "o.db")
    box.enqueue([msg(1)], {"seq": 1})
    with pytest.raises(sqlite3.IntegrityError):  # duplicate seq: the transaction rolls back as a whole
        box.enqueue([msg(2), msg(1)], {"seq": 2})
    assert box.load_state() == {"seq": 1}
    assert [m.seq for m in box.after(0, 10)] == [1]


def test_bound_drops_oldest_telemetry_but_never_critical(tmp_path: Path) -> None:
    box = SqliteOutbox(tmp_path / "o.db", max_messages=100)
    box.enqueue([msg(i, "telemetry") for i in range(1, 51)] + [msg(i) for i in range(51, 101)])
    box.enqueue([msg(101, "telemetry"), msg(102, "telemetry")])
    seqs = [m.seq for m in box.after(0, 1000)]
    assert 1 not in seqs and 2 not in seqs and seqs[-1] == 102 and len(seqs) == 100
    with pytest.raises(OutboxFull):
        box.enqueue([msg(103)])
    assert 103 not in [m.seq for m in box.after(0, 1000)]


def test_rejected_messages_are_kept_locally(tmp_path: Path) -> None:
    box = SqliteOutbox(tmp_path / "o.db")
    box.enqueue([msg(1)])
    box.reject(msg(1).msg_id, "schema: bad")
    assert box.after(0, 10) == []
    row = box._conn().execute("SELECT msg_id, reason FROM rejected").fetchone()
    assert row == (msg(1).msg_id, "schema: bad")


def test_outbox_and_gateway_commit_durably(tmp_path: Path) -> None:
    """synchronous=FULL on both SQLite files (2 = FULL): in WAL mode NORMAL loses the last commits on a
    power cut, and an acked gateway commit is one the agent has already deleted."""
    from gateway.store.sqlite import SqliteStore

    outbox = SqliteOutbox(tmp_path / "o.db")
    store = SqliteStore(tmp_path / "g.db")
    try:
        assert outbox._conn().execute("PRAGMA synchronous").fetchone()[0] == 2
        assert store.db.scalar("PRAGMA synchronous") == 2
        assert store.db.scalar("PRAGMA journal_mode") == "wal"
    finally:
        store.close()
        outbox.close()
