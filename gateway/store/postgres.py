"""PostgreSQL (scale-out): several gateway workers write to one database.

Same migrations, write logic and read SQL as SQLite (``schema.py``, ``sql.BatchWriter``, ``reads``);
this module is only the dialect (``PostgresDatabase``). Migrations are applied at start inside one
transaction holding an advisory lock, so N workers starting together apply them once and the others
wait, then see them done. Connections come from a small psycopg pool: the consumer thread and the
API threads borrow one each.

PostgreSQL TEXT cannot hold NUL (U+0000), which SQLite stores and the wire models let through in free
text (a reading's unit, an imported CSV cell). Such text is written with U+FFFD in place of each NUL;
otherwise one such message would fail its batch on every retry and wedge ingest.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.adapt import AdaptersMap, Buffer
from psycopg.types.string import StrBinaryDumper, StrDumperUnknown
from psycopg_pool import ConnectionPool

from gateway.store.db import BatchWork, Database, Dialect, Params, T
from gateway.store.schema import MIGRATION_SET, MIGRATIONS
from gateway.store.store import SqlStore

log = logging.getLogger("junkan.gateway.store.postgres")

# Arbitrary but fixed: every worker of every version must take the same lock (pg_advisory_xact_lock key).
MIGRATION_LOCK = 0x6A756E6B616E  # "junkan"
CONFLICT_RETRIES = 5
NUL, NUL_STANDIN = "\x00", "\ufffd"
POSTGRES = Dialect("postgres", "%s", {"autoid": "BIGSERIAL PRIMARY KEY", "blob": "BYTEA"})


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


def nul_free(params: Params) -> Params:
    """Query parameters with NUL replaced as it is on write (a NUL key then finds nothing, not a 500)."""
    if not any(isinstance(p, str) and NUL in p for p in params):
        return params
    return [p.replace(NUL, NUL_STANDIN) if isinstance(p, str) else p for p in params]


def apply_migrations(conn: psycopg.Connection[Any], migrations: list[tuple[str, list[str]]] = MIGRATIONS,
                     migration_set: str = MIGRATION_SET) -> list[str]:
    """Apply pending migrations in one transaction under an advisory lock; returns the names applied."""
    applied_now: list[str] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS junkan_migrations (migration_set TEXT NOT NULL, "
                     "name TEXT NOT NULL, applied_at TEXT NOT NULL, PRIMARY KEY (migration_set, name))")
        done = {row[0] for row in conn.execute(
            "SELECT name FROM junkan_migrations WHERE migration_set = %s", (migration_set,))}
        for name, statements in migrations:
            if name in done:
                continue
            for stmt in statements:
                conn.execute(POSTGRES.render(stmt))
            conn.execute("INSERT INTO junkan_migrations (migration_set, name, applied_at) VALUES (%s, %s, %s)",
                         (migration_set, name, datetime.now(UTC).isoformat()))
            applied_now.append(name)
    if applied_now:
        log.info("applied migrations %s", ", ".join(applied_now))
    return applied_now


class PostgresDatabase(Database):
    """psycopg 3 over a small pool: the consumer thread and the API threads borrow one connection each
    (a transaction keeps its connection until it ends; executemany runs in pipeline mode)."""

    dialect = POSTGRES

    def __init__(self, url: str, pool_size: int = 4, connect_timeout_s: float = 30.0) -> None:
        super().__init__()
        self.url = url
        self.pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            url, min_size=1, max_size=pool_size, open=False, name="junkan-gateway",
            timeout=connect_timeout_s)
        self.pool.open(wait=True, timeout=connect_timeout_s)

    def _params(self, params: Params) -> Params:
        return nul_free(params)

    def _run(self, work: Callable[[psycopg.Connection[Any]], T]) -> T:
        with self.pool.connection() as conn:  # psycopg_pool: commits on a clean exit
            return work(conn)

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Connection[Any]]:
        with self.pool.connection() as conn, conn.transaction():
            yield conn

    def migrate(self, name: str, migrations: list[tuple[str, list[str]]]) -> list[str]:
        with self.pool.connection() as conn:
            return apply_migrations(conn, migrations, name)

    def applied(self, name: str) -> list[str]:
        return [str(r["name"]) for r in self.rows("SELECT name FROM junkan_migrations WHERE migration_set = ?",
                                                  (name,))]

    def batch(self, work: BatchWork[T]) -> T:
        nul_retry, attempt = False, 0
        while True:
            try:
                with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
                    if nul_retry:
                        nul_safe(cur.adapters)
                    return work(cur.execute, cur.executemany, "%s")
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

    def close(self) -> None:
        self.pool.close()


class PostgresStore(SqlStore):
    """The store over PostgreSQL (scale-out: several gateway workers write to one database)."""

    db: PostgresDatabase

    def __init__(self, url: str, pool_size: int = 4, connect_timeout_s: float = 30.0) -> None:
        self.url = url
        db = PostgresDatabase(url, pool_size, connect_timeout_s)
        try:
            super().__init__(db)
        except BaseException:
            db.close()
            raise
