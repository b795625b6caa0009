"""SQLite store (the default): sqlite-utils, WAL, migrations from ``schema.py`` applied at open.

One connection per thread: the consumer thread writes, API threads read (WAL lets them run together).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils
from sqlite_utils.migrations import Migrations

from gateway.store.base import DeadLetter, Incoming
from gateway.store.reads import StoreReads
from gateway.store.schema import MIGRATIONS, SQLITE_DIALECT
from gateway.store.sql import BatchWriter, json_columns
from junkan.core.messages import AckItem, CommandMessage, StatusMessage


def build_migrations(name: str, migrations: list[tuple[str, list[str]]], dialect: dict[str, str]) -> Migrations:
    """Express plain-SQL migrations as a sqlite-utils migration set."""
    mset = Migrations(name)
    for mig_name, statements in migrations:
        def apply(db: sqlite_utils.Database, statements: list[str] = statements) -> None:
            for stmt in statements:
                db.execute(render(stmt, dialect))

        mset(name=mig_name)(apply)
    return mset


def render(statement: str, dialect: dict[str, str]) -> str:
    """Fill the dialect placeholders ({autoid}, {blob}); JSON defaults like '{}' stay as they are."""
    for key, value in dialect.items():
        statement = statement.replace("{" + key + "}", value)
    return statement


class SqliteStore(StoreReads):
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        db = self._db()
        build_migrations("junkan-gateway", MIGRATIONS, SQLITE_DIALECT).apply(db)

    def _db(self) -> sqlite_utils.Database:
        db: sqlite_utils.Database | None = getattr(self._local, "db", None)
        if db is None:
            conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            # FULL: an ack tells the agent to delete its copy, so a commit must survive a power cut, not
            # only a crash (NORMAL in WAL mode may lose the last commits). With batched commits it costs
            # ~0.1 ms per transaction (measured: 1.71 -> 1.84 ms per 500-row commit).
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=30000")
            db = sqlite_utils.Database(conn)
            self._local.db = db
        return db

    @property
    def conn(self) -> sqlite3.Connection:
        return self._db().conn

    # -- writes ----------------------------------------------------------------------------------
    def commit_batch(
        self, incoming: list[Incoming], dead: list[DeadLetter], statuses: list[StatusMessage]
    ) -> list[AckItem]:
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            acks = BatchWriter(conn.execute, conn.executemany, "?").write(incoming, dead, statuses)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return acks

    def record_command(self, command: CommandMessage, agents: list[str]) -> None:
        with self._db().atomic():
            self.conn.execute(
                "INSERT INTO commands (cmd_id, line, action, lot_id, agents, issued_at, issued_by) "
                "VALUES (?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                (command.cmd_id, command.line, command.action, command.lot_id, json.dumps(agents),
                 command.issued_at.isoformat(), command.issued_by),
            )

    # -- reads (the queries live in StoreReads) ------------------------------------------------
    def _rows(self, sql: str, params: list[Any] | tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        cursor = self.conn.execute(sql, params)
        names = [c[0] for c in cursor.description]
        return [json_columns(dict(zip(names, row, strict=True))) for row in cursor.fetchall()]

    def _scalar(self, sql: str, params: list[Any] | tuple[Any, ...] = ()) -> Any:
        return self.conn.execute(sql, params).fetchone()[0]

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.conn.close()
            self._local.db = None


def now_iso() -> str:
    return datetime.now(UTC).isoformat()
