"""The durable outbox: every message is written here before it is sent, and deleted only when the
gateway's application-level ack (sent after its database commit) comes back — never on PUBACK alone.

SQLite in WAL mode. The agent's core thread is the only writer of new messages; it persists the agent's
counters (``seq``, per-device sequence numbers, the open lot) in the same transaction, so a crash
can never reuse a sequence number or forget a lot. The publisher thread reads, and deletes on ack.

Schema changes are ordered migrations numbered by ``PRAGMA user_version`` (append, never edit one): an
outbox written by an older agent is upgraded in place when a newer one opens it, in one transaction.
A running agent holds ``<outbox>.lock`` (``junkan.core.locks``): a second agent, or a restore, cannot use
the file under it.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge_agent.clock import wall_time

log = logging.getLogger("junkan.agent.outbox")

# MIGRATIONS[i] brings user_version i to i + 1. Version 1 is the schema of every outbox written before
# versioning existed (release 0.1.0 left user_version at 0), hence IF NOT EXISTS in it.
MIGRATIONS: list[list[str]] = [[
    """CREATE TABLE IF NOT EXISTS outbox (
        seq INTEGER PRIMARY KEY,
        msg_id TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        topic TEXT NOT NULL,
        payload BLOB NOT NULL,
        data_class TEXT NOT NULL DEFAULT 'critical',
        created_at REAL NOT NULL)""",
    "CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS rejected (
        msg_id TEXT PRIMARY KEY, seq INTEGER, topic TEXT, payload BLOB, reason TEXT, rejected_at REAL)""",
]]
SCHEMA_VERSION = len(MIGRATIONS)


_COMPRESS_OVER = 512  # bytes of JSON above which a state value is stored zlib-compressed


class OutboxTooNew(Exception):
    """The file was written by a newer agent. Not a DatabaseError: it must stop the agent, never be moved
    aside as corrupt."""


@dataclass(frozen=True)
class OutgoingMessage:
    seq: int
    msg_id: str
    kind: str
    topic: str
    payload: bytes
    data_class: str = "critical"


class OutboxFull(Exception):
    """Critical data would exceed the configured bound: the agent raises an alarm instead of dropping."""


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the pending migrations in one transaction; returns the version the file is at."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise OutboxTooNew(f"outbox schema {version} is newer than this agent's {SCHEMA_VERSION}: "
                               "a newer agent wrote it; run that release (a downgrade would lose data)")
        for number in range(version, SCHEMA_VERSION):
            for stmt in MIGRATIONS[number]:
                conn.execute(stmt)
            conn.execute(f"PRAGMA user_version = {number + 1}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    if version < SCHEMA_VERSION:
        log.info("outbox schema upgraded %d -> %d", version, SCHEMA_VERSION)
    return SCHEMA_VERSION


class SqliteOutbox:
    """One file, one connection per thread."""

    def __init__(self, path: Path, max_messages: int = 1_000_000, max_bytes: int | None = None,
                 page_size: int = 1024, delete_batch: int = 64) -> None:
        """``max_bytes`` caps the file (SQLite ``max_page_count``): a disk budget that fails like a full disk.
        ``page_size`` applies to a new file only; ``delete_batch`` acked messages are deleted together."""
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self.recovered_from: Path | None = None  # set when a corrupt file was moved aside at start
        self._local = threading.local()
        # Write volume (an SD card wears out): acked messages are deleted in batches, not one transaction
        # per ack; those above ``retain_after_seq`` are kept until the agent has checkpointed the lot
        # evidence their readings went into (the agent re-folds them after a crash). State keys are
        # written only when their value changed, large ones compressed.
        self.retain_after_seq: int | None = None
        self.page_size, self.delete_batch, self.delete_interval_s = page_size, delete_batch, 5.0
        self.purge_with_writes = False  # SD-card mode (agent outbox.commit_interval_s): see enqueue
        self._acked: dict[str, float] = {}  # msg_id -> monotonic time acked; guarded by _acked_lock
        self._acked_lock = threading.Lock()
        self._state_written: dict[str, bytes | str] = {}  # key -> value as last committed (core thread)
        try:
            self._create()
        except sqlite3.DatabaseError as exc:
            self._move_aside(exc)
            self._create()

    def _create(self) -> None:
        conn = self._conn()
        if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise sqlite3.DatabaseError("quick_check failed")
        migrate(conn)

    def _move_aside(self, exc: Exception) -> None:
        """A corrupt outbox must not stop the agent: keep the file for forensics, start a new one."""
        self.close()
        aside = self.path.with_name(f"{self.path.name}.corrupt-{int(wall_time())}")
        for suffix in ("", "-wal", "-shm"):
            src = Path(f"{self.path}{suffix}")
            if src.exists():
                src.rename(Path(f"{aside}{suffix}"))
        self.recovered_from = aside
        log.error("outbox %s is corrupt (%s): moved to %s, starting a new one", self.path, exc, aside)

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            # 1 KiB pages for a new file (an existing file keeps its own): a commit of one small message
            # then dirties one or two pages of the WAL instead of four 4 KiB ones.
            conn.execute(f"PRAGMA page_size={int(self.page_size)}")
            conn.execute("PRAGMA journal_mode=WAL")
            # FULL: a reading the agent has accepted must survive a power cut (plants lose power; NORMAL in
            # WAL mode can lose the last commits, and the seq/device_seq state with them). Writes are
            # batched (outbox.batch_size readings per message), so this is one fsync per batch.
            conn.execute("PRAGMA synchronous=FULL")
            if self.max_bytes:
                page = conn.execute("PRAGMA page_size").fetchone()[0]
                conn.execute(f"PRAGMA max_page_count = {max(16, self.max_bytes // page)}")
            self._local.conn = conn
        return conn

    def schema_version(self) -> int:
        return int(self._conn().execute("PRAGMA user_version").fetchone()[0])

    # -- state persisted with the messages -------------------------------------------------------
    def load_state(self) -> dict[str, Any]:
        rows = self._conn().execute("SELECT key, value FROM state").fetchall()
        return {key: json.loads(zlib.decompress(value) if isinstance(value, bytes) else value) for key, value in rows}

    @staticmethod
    def _encode_state(value: Any) -> bytes | str:
        text = json.dumps(value, separators=(",", ":"))
        return zlib.compress(text.encode(), 6) if len(text) > _COMPRESS_OVER else text

    def enqueue(self, messages: Iterable[OutgoingMessage], state: dict[str, Any] | None = None) -> None:
        """Append messages and update state atomically. Telemetry beyond the bound drops oldest telemetry;
        critical data beyond the bound raises OutboxFull (nothing is written)."""
        msgs = list(messages)
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            with self._acked_lock:  # acked ones leave at the next state write, which this one may be
                leaving = len(self._acked)
            depth = conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] - leaving
            overflow = depth + len(msgs) - self.max_messages
            if overflow > 0:
                if any(m.data_class == "critical" for m in msgs):
                    raise OutboxFull(f"outbox holds {depth} messages (max {self.max_messages})")
                conn.execute(
                    "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE data_class='telemetry' "
                    "ORDER BY seq LIMIT ?)",
                    (overflow,),
                )
            now = wall_time()
            conn.executemany(
                "INSERT INTO outbox (seq, msg_id, kind, topic, payload, data_class, created_at) "
                "VALUES (?,?,?,?,?,?,?)",
                [(m.seq, m.msg_id, m.kind, m.topic, m.payload, m.data_class, now) for m in msgs],
            )
            changed = {}
            for key, value in (state or {}).items():
                encoded = self._encode_state(value)
                if self._state_written.get(key) == encoded:
                    continue  # unchanged: not rewritten
                changed[key] = encoded
                conn.execute(
                    "INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                    (key, encoded),
                )
            # acked messages leave in this commit rather than in one of their own (one fsync, not two)
            gone = self._purge(conn)[1] if self.purge_with_writes and self._acked else []
            conn.execute("COMMIT")
            self._state_written.update(changed)
            self._forget_acked(gone)
        except BaseException:
            if conn.in_transaction:  # SQLite may already have rolled back (e.g. SQLITE_FULL)
                conn.execute("ROLLBACK")
            raise

    # -- publisher side ------------------------------------------------------------------------------
    def after(self, seq: int, limit: int) -> list[OutgoingMessage]:
        """Unacked messages after ``seq`` (acked ones waiting for deletion are skipped)."""
        with self._acked_lock:
            acked = set(self._acked)
        rows = self._conn().execute(
            "SELECT seq, msg_id, kind, topic, payload, data_class FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
            (seq, limit + len(acked)),
        ).fetchall()
        return [OutgoingMessage(*row) for row in rows if row[1] not in acked][:limit]

    def retained(self, after_seq: int) -> list[OutgoingMessage]:
        """Every message after ``after_seq``, acked or not (the agent re-folds their readings at start)."""
        rows = self._conn().execute(
            "SELECT seq, msg_id, kind, topic, payload, data_class FROM outbox WHERE seq > ? ORDER BY seq",
            (after_seq,),
        ).fetchall()
        return [OutgoingMessage(*row) for row in rows]

    def delete(self, msg_ids: list[str]) -> int:
        """The gateway acked these: they leave the send queue now, the file in the next batch delete."""
        now = time.monotonic()
        with self._acked_lock:
            for msg_id in msg_ids:
                self._acked.setdefault(msg_id, now)
            due = len(self._acked) >= self.delete_batch or (
                self._acked and now - min(self._acked.values()) >= self.delete_interval_s)
        if due:
            self.purge_acked()
        return len(msg_ids)

    def purge_if_due(self) -> None:
        """Called from the publisher's loop: acked messages do not wait for the next ack to be deleted."""
        with self._acked_lock:
            due = bool(self._acked) and time.monotonic() - min(self._acked.values()) >= self.delete_interval_s
        if due:
            self.purge_acked()

    def waiting_for_state(self) -> bool:
        """Acked messages are kept because the agent's state has not been written past them yet."""
        with self._acked_lock:
            return bool(self._acked) and self.retain_after_seq is not None

    def purge_acked(self) -> int:
        """Delete the acked messages that may go (at or below ``retain_after_seq``); returns how many."""
        deleted, gone = self._purge(self._conn())
        self._forget_acked(gone)
        return deleted

    def _purge(self, conn: sqlite3.Connection) -> tuple[int, list[str]]:
        """The deletes of ``purge_acked`` on ``conn`` (inside the caller's transaction, if any); returns how
        many rows went and the acked ids that may be forgotten once that is committed."""
        with self._acked_lock:
            ids, retain = list(self._acked), self.retain_after_seq
        deleted, kept = 0, set()
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            if retain is None:
                deleted += conn.execute(f"DELETE FROM outbox WHERE msg_id IN ({marks})", chunk).rowcount
                continue
            deleted += conn.execute(f"DELETE FROM outbox WHERE msg_id IN ({marks}) AND seq <= ?",
                                    [*chunk, retain]).rowcount
            kept |= {r[0] for r in conn.execute(f"SELECT msg_id FROM outbox WHERE msg_id IN ({marks})", chunk)}
        return deleted, [msg_id for msg_id in ids if msg_id not in kept]

    def _forget_acked(self, gone: list[str]) -> None:
        with self._acked_lock:
            for msg_id in gone:
                self._acked.pop(msg_id, None)

    def reject(self, msg_id: str, reason: str) -> None:
        """The gateway refused a message: keep it locally with the reason, out of the send queue."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(
                "INSERT OR REPLACE INTO rejected SELECT msg_id, seq, topic, payload, ?, ? FROM outbox WHERE msg_id=?",
                (reason, wall_time(), msg_id),
            )
            conn.execute("DELETE FROM outbox WHERE msg_id=?", (msg_id,))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # SQLite may already have rolled back (e.g. SQLITE_FULL)
                conn.execute("ROLLBACK")
            raise

    def depth(self) -> tuple[int, float]:
        """Messages waiting and the age (s) of the oldest."""
        with self._acked_lock:
            acked = list(self._acked)
        if len(acked) > 900:  # too many to list: every acked one is newer than the oldest unacked anyway
            count, oldest = self._conn().execute("SELECT COUNT(*), MIN(created_at) FROM outbox").fetchone()
            return max(0, int(count) - len(acked)), (wall_time() - oldest) if oldest else 0.0
        marks = ",".join("?" * len(acked))
        count, oldest = self._conn().execute(
            f"SELECT COUNT(*), MIN(created_at) FROM outbox WHERE msg_id NOT IN ({marks})", acked).fetchone()
        return int(count), (wall_time() - oldest) if oldest else 0.0

    def close(self) -> None:
        if self._acked and getattr(self._local, "conn", None) is not None:
            try:
                self.purge_acked()
            except sqlite3.Error:
                pass  # they are resent after the restart and acked as duplicates
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
