"""PostgreSQL store (scale-out): several gateway workers write to one database.

Same migrations and write logic as SQLite (``schema.py``, ``sql.BatchWriter``) and the same read SQL
(``reads.StoreReads``). Migrations are applied at start inside one transaction holding an advisory
lock, so N workers starting together apply them once and the others wait, then see them done.
Connections come from a small psycopg pool: the consumer thread and the API threads borrow one each.

PostgreSQL TEXT cannot hold NUL (U+0000), which SQLite stores and the wire models let through in free
text (a reading's unit, an imported CSV cell). Such text is written with U+FFFD in place of each NUL;
otherwise one such message would fail its batch on every retry and wedge ingest.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.adapt import AdaptersMap, Buffer
from psycopg.types.string import StrBinaryDumper, StrDumperUnknown
from psycopg_pool import ConnectionPool

from gateway.store.base import DeadLetter, Incoming
from gateway.store.reads import StoreReads
from gateway.store.schema import MIGRATIONS, POSTGRES_DIALECT
from gateway.store.sql import BatchWriter, json_columns
from junkan.core.messages import AckItem, CommandMessage, StatusMessage

log = logging.getLogger("junkan.gateway.store.postgres")

MIGRATION_SET = "junkan-gateway"
# Arbitrary but fixed: every worker of every version must take the same lock (pg_advisory_xact_lock key).
MIGRATION_LOCK = 0x6A756E6B616E  # "junkan"
CONFLICT_RETRIES = 5
NUL, NUL_STANDIN = "\x00", "\ufffd"


class NulSafeStrDumper(StrDumperUnknown):
    def dump(self, obj: str) -> Buffer | None:
        return super().dump(obj.replace(NUL, NUL_STANDIN))


class NulSafeStrBinaryDumper(StrBinaryDumper):
    def dump(self, obj: str) -> Buffer | None:
        return super().dump(obj.replace(NUL, NUL_STANDIN))


def nul_safe(adapters: AdaptersMap) -> None:
    """Make ``adapters`` write NUL as U+FFFD (pure-Python dumpers: off the hot path, where a batch
    that hit a NUL is retried with them instead)."""
    adapters.register_dumper(str, NulSafeStrDumper)
    adapters.register_dumper(str, NulSafeStrBinaryDumper)


def is_nul_error(exc: psycopg.DataError) -> bool:
    return "NUL (0x00)" in str(exc)


def nul_free(params: list[Any] | tuple[Any, ...]) -> list[Any] | tuple[Any, ...]:
    """Query parameters with NUL replaced as it is on write (a NUL key then finds nothing, not a 500)."""
    if not any(isinstance(p, str) and NUL in p for p in params):
        return params
    return [p.replace(NUL, NUL_STANDIN) if isinstance(p, str) else p for p in params]


def render(statement: str, dialect: dict[str, str]) -> str:
    """Fill the dialect placeholders ({autoid}, {blob}); JSON defaults like '{}' stay as they are."""
    for key, value in dialect.items():
        statement = statement.replace("{" + key + "}", value)
    return statement


def apply_migrations(conn: psycopg.Connection[Any], migrations: list[tuple[str, list[str]]] = MIGRATIONS
                     ) -> list[str]:
    """Apply pending migrations in one transaction under an advisory lock; returns the names applied."""
    applied_now: list[str] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS junkan_migrations (migration_set TEXT NOT NULL, "
                     "name TEXT NOT NULL, applied_at TEXT NOT NULL, PRIMARY KEY (migration_set, name))")
        done = {row[0] for row in conn.execute(
            "SELECT name FROM junkan_migrations WHERE migration_set = %s", (MIGRATION_SET,))}
        for name, statements in migrations:
            if name in done:
                continue
            for stmt in statements:
                conn.execute(render(stmt, POSTGRES_DIALECT))
            conn.execute("INSERT INTO junkan_migrations (migration_set, name, applied_at) VALUES (%s, %s, %s)",
                         (MIGRATION_SET, name, datetime.now(UTC).isoformat()))
            applied_now.append(name)
    if applied_now:
        log.info("applied migrations %s", ", ".join(applied_now))
    return applied_now


class PostgresStore(StoreReads):
    """The ``Store`` protocol over PostgreSQL via psycopg 3 (executemany runs in pipeline mode)."""

    def __init__(self, url: str, pool_size: int = 4, connect_timeout_s: float = 30.0) -> None:
        self.url = url
        self._local = threading.local()
        self._own: list[psycopg.Connection[Any]] = []
        self._own_lock = threading.Lock()
        self.pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            url, min_size=1, max_size=pool_size, open=False, name="junkan-gateway",
            timeout=connect_timeout_s)
        self.pool.open(wait=True, timeout=connect_timeout_s)
        try:
            with self.pool.connection() as conn:
                apply_migrations(conn)
        except BaseException:
            self.pool.close()
            raise

    @property
    def conn(self) -> psycopg.Connection[Any]:
        """A connection of this thread's own (autocommit; ``conn.transaction()`` for atomic work), for
        modules that run their own SQL over the store (traceability, evidence). Closed by ``close()``."""
        conn: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = psycopg.connect(self.url, autocommit=True)
            nul_safe(conn.adapters)
            self._local.conn = conn
            with self._own_lock:
                self._own.append(conn)
        return conn

    @contextmanager
    def _conn(self) -> Iterator[psycopg.Connection[Any]]:
        with self.pool.connection() as conn:
            yield conn

    # -- writes ----------------------------------------------------------------------------------
    def commit_batch(
        self, incoming: list[Incoming], dead: list[DeadLetter], statuses: list[StatusMessage]
    ) -> list[AckItem]:
        nul_retry, attempt = False, 0
        while True:
            try:
                with self._conn() as conn, conn.transaction(), conn.cursor() as cur:
                    if nul_retry:
                        nul_safe(cur.adapters)
                    return BatchWriter(cur.execute, cur.executemany, "%s").write(incoming, dead, statuses)
            except psycopg.DataError as exc:
                if nul_retry or not is_nul_error(exc):
                    raise
                log.warning("batch holds text with NUL; storing it with U+FFFD in its place")
                nul_retry = True
            except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure) as exc:
                # Two workers upserting the same agent/device rows: the loser was rolled back whole.
                attempt += 1
                if attempt == CONFLICT_RETRIES:
                    raise
                log.warning("batch rolled back (%s); retrying (%d/%d)", type(exc).__name__, attempt,
                            CONFLICT_RETRIES)
                time.sleep(random.uniform(0.001, 0.02) * attempt)

    def record_command(self, command: CommandMessage, agents: list[str]) -> None:
        with self._conn() as conn, conn.transaction():
            conn.execute(
                "INSERT INTO commands (cmd_id, line, action, lot_id, agents, issued_at, issued_by) "
                "VALUES (%s,%s,%s,%s,%s,%s,%s) ON CONFLICT DO NOTHING",
                nul_free((command.cmd_id, command.line, command.action, command.lot_id, json.dumps(agents),
                          command.issued_at.isoformat(), command.issued_by)),
            )

    # -- reads (the queries live in StoreReads) ------------------------------------------------
    def _rows(self, sql: str, params: list[Any] | tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        with self._conn() as conn:
            cursor = conn.execute(sql.replace("?", "%s"), nul_free(params))  # type: ignore[arg-type]
            names = [c.name for c in cursor.description or []]
            return [json_columns(dict(zip(names, row, strict=True))) for row in cursor.fetchall()]

    def _scalar(self, sql: str, params: list[Any] | tuple[Any, ...] = ()) -> Any:
        with self._conn() as conn:
            row = conn.execute(sql.replace("?", "%s"), nul_free(params)).fetchone()  # type: ignore[arg-type]
            return row[0] if row else None

    def close(self) -> None:
        with self._own_lock:
            own, self._own = self._own, []
        for conn in own:
            conn.close()
        self.pool.close()
