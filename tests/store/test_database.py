"""The store's one database object: transactions per thread (nested calls join, errors roll back), rows
as dicts, and a new database is one ``Database`` subclass that ``SqlStore`` and the repositories run on."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.store.base import Store
from gateway.store.db import BatchWork, Database, Dialect, T
from gateway.store.store import SqlStore
from gateway.traceability.lineage import backward
from gateway.traceability.repo import record_intake, record_step
from junkan.core.traceability import IntakeIn, StepIn
from tests.wire import incoming, lot_message, reading_message, xrf_readings


class PlainSqlite(Database):
    """A third database in one class: sqlite3 only, one connection for all threads (serialised), its own
    migrations table. Everything else comes from ``Database`` and ``SqlStore``."""

    dialect = Dialect("plain", "?", {"autoid": "INTEGER PRIMARY KEY AUTOINCREMENT", "blob": "BLOB"})

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.lock = threading.RLock()

    def _run(self, work: Callable[[Any], T]) -> T:
        with self.lock:
            return work(self.conn)

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise

    def migrate(self, name: str, migrations: list[tuple[str, list[str]]]) -> list[str]:
        self.conn.execute("CREATE TABLE IF NOT EXISTS plain_migrations (set_name TEXT, name TEXT)")
        done = set(self.applied(name))
        todo = [(m, stmts) for m, stmts in migrations if m not in done]
        for mig, statements in todo:
            with self.tx():
                for stmt in statements:
                    self.execute(self.dialect.render(stmt))
                self.execute("INSERT INTO plain_migrations VALUES (?, ?)", (name, mig))
        return [m for m, _ in todo]

    def applied(self, name: str) -> list[str]:
        return [r["name"] for r in self.rows("SELECT name FROM plain_migrations WHERE set_name = ?", (name,))]

    def batch(self, work: BatchWork[T]) -> T:
        with self._transaction() as conn:
            return work(conn.execute, conn.executemany, "?")

    def close(self) -> None:
        self.conn.close()


def test_a_database_in_one_class_runs_the_whole_store(tmp_path: Path) -> None:
    store = SqlStore(PlainSqlite(tmp_path / "plain.db"))
    try:
        acks = store.commit_batch([incoming(reading_message(1, xrf_readings(range(3)))),
                                   incoming(lot_message(2, "closed", net=12.5))], [], [])
        assert [a.result for a in acks] == ["stored", "stored"]
        assert store.get_lot("LOT-1")["net_mass_kg"] == 12.5  # type: ignore[index]
        assert len(store.lot_readings("LOT-1")) == 3
        t = datetime(2026, 3, 2, tzinfo=UTC)
        record_intake(store.db, IntakeIn(lot_id="IN-1", received_at=t, source_stream="weee", net_mass_kg=20.0,
                                         products=[{"model": "TV-1", "n_items": 2}]))
        record_step(store.db, StepIn(step_id="S1", kind="sorting", started_at=t, ended_at=t,
                                     inputs=[{"lot_id": "IN-1", "mass_kg": 20.0}],
                                     outputs=[{"lot_id": "OUT-1", "mass_kg": 19.8}]))
        lin = backward(store.db, "OUT-1", store)
        assert [s.lot_id for s in lin.sources] == ["IN-1"] and lin.models[0].model == "TV-1"
        assert store.db.applied("junkan-gateway")  # reopening applies nothing twice
        assert SqlStore(store.db).db.applied("junkan-gateway") == store.db.applied("junkan-gateway")
    finally:
        store.close()


def test_transactions_nest_and_roll_back_whole(gateway_store: Store) -> None:
    db = gateway_store.db
    db.execute("CREATE TABLE tx_probe (v INTEGER)")
    with db.tx():
        db.execute("INSERT INTO tx_probe VALUES (?)", (1,))
        with db.tx():  # joins the outer transaction
            db.execute("INSERT INTO tx_probe VALUES (?)", (2,))
        assert db.in_transaction
    assert not db.in_transaction
    with pytest.raises(RuntimeError), db.tx():
        db.execute("INSERT INTO tx_probe VALUES (?)", (3,))
        with db.tx():
            db.execute("INSERT INTO tx_probe VALUES (?)", (4,))
        raise RuntimeError("the outer transaction fails: 3 and 4 go")
    assert [r["v"] for r in db.rows("SELECT v FROM tx_probe ORDER BY v")] == [1, 2]
    assert db.scalar("SELECT COUNT(*) FROM tx_probe WHERE v > ?", (1,)) == 1
    assert db.execute("DELETE FROM tx_probe WHERE v = ?", (2,)) == 1


def test_another_thread_does_not_join_a_transaction(gateway_store: Store) -> None:
    """The open transaction belongs to its thread: another thread's statement runs (and commits) on its
    own connection, so it cannot be rolled back by this thread's failure."""
    db = gateway_store.db
    db.execute("CREATE TABLE tx_threads (v INTEGER)")
    seen: list[bool] = []

    def other() -> None:
        seen.append(db.in_transaction)

    with db.tx():
        db.execute("INSERT INTO tx_threads VALUES (1)")
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    assert seen == [False]
