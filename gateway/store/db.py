"""The one database object a store owns and every repository is handed: dialect, transactions, rows.

SQL everywhere in the gateway is written once, with ``?`` placeholders and the subset of SQL both
SQLite and PostgreSQL accept; ``Database`` converts it to the driver's placeholder (cached: each
statement text is converted once per process). A dialect is one subclass (``SqliteDatabase``,
``PostgresDatabase``) supplying a connection for one statement, a connection holding a transaction,
its migrations and the ingest batch's transaction; everything else lives here.

``tx()`` is one transaction per thread: statements run inside it (from any repository) share its
connection, nested ``tx()`` calls join it, so a file import or a recorded step is all-or-nothing.
Outside ``tx()`` each statement commits on its own.
"""

from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeVar

T = TypeVar("T")
Params = Sequence[Any]
# The ingest writer's primitives: ``execute(sql, params)`` -> cursor, ``executemany(sql, rows)``, placeholder.
BatchWork = Callable[[Callable[..., Any], Callable[..., Any], str], T]


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def dumps(value: Any) -> str:
    """Compact JSON for a TEXT column (non-ASCII kept; anything else as its str())."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


@lru_cache(maxsize=4096)
def native(statement: str, placeholder: str) -> str:
    """``statement`` with each ``?`` placeholder as the driver writes it (the one conversion in the gateway).
    No statement of ours has a ``?`` inside a string literal; PostgreSQL's ``%`` in a LIKE pattern is a
    parameter value, never statement text."""
    return statement if placeholder == "?" else statement.replace("?", placeholder)


@dataclass(frozen=True)
class Dialect:
    """What differs in SQL text between databases: the placeholder and the DDL words of ``schema.py``."""

    name: str
    placeholder: str
    ddl: dict[str, str] = field(default_factory=dict)  # {autoid}, {blob} in migrations

    def render(self, statement: str) -> str:
        """A migration statement with its ``{autoid}``/``{blob}`` filled (JSON defaults like '{}' stay)."""
        for key, value in self.ddl.items():
            statement = statement.replace("{" + key + "}", value)
        return statement

    def sql(self, statement: str) -> str:
        return native(statement, self.placeholder)


class Database(ABC):
    """Rows as dicts, rowcounts, one transaction per thread; dialect-specific parts are the abstract methods."""

    dialect: Dialect

    def __init__(self) -> None:
        self._local = threading.local()  # .tx: the connection of this thread's open transaction

    # -- per dialect ---------------------------------------------------------------------------------
    @abstractmethod
    def _run(self, work: Callable[[Any], T]) -> T:
        """``work(connection)`` for one statement outside a transaction (its effect committed after)."""

    @abstractmethod
    def _transaction(self) -> AbstractContextManager[Any]:
        """A connection holding a new transaction: committed on a clean exit, rolled back on an error."""

    @abstractmethod
    def migrate(self, name: str, migrations: list[tuple[str, list[str]]]) -> list[str]:
        """Apply the pending ``migrations`` of set ``name`` (idempotent, safe with several processes)."""

    @abstractmethod
    def applied(self, name: str) -> list[str]:
        """Names of the migrations of set ``name`` this database has applied."""

    @abstractmethod
    def batch(self, work: BatchWork[T]) -> T:
        """Run ``work(execute, executemany, placeholder)`` in one transaction over the driver's own cursor:
        the ingest hot path (``BatchWriter``), with this dialect's retries."""

    @abstractmethod
    def close(self) -> None: ...

    def _params(self, params: Params) -> Params:
        """Parameters as this driver must receive them (PostgreSQL: no NUL in text)."""
        return params

    # -- shared ------------------------------------------------------------------------------------
    def _on_connection(self, work: Callable[[Any], T]) -> T:
        """``work`` on this thread's open transaction, else on a connection for one statement. A plain call,
        not a context manager: it is on every read's path."""
        conn = getattr(self._local, "tx", None)
        return work(conn) if conn is not None else self._run(work)

    @property
    def in_transaction(self) -> bool:
        return getattr(self._local, "tx", None) is not None

    @contextmanager
    def tx(self) -> Iterator[Database]:
        """One transaction; nested calls (same thread) join the outer one."""
        if self.in_transaction:
            yield self
            return
        with self._transaction() as conn:
            self._local.tx = conn
            try:
                yield self
            finally:
                self._local.tx = None

    def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; returns the number of rows it changed."""
        statement, values = self.dialect.sql(sql), self._params(params)
        return self._on_connection(lambda conn: int(conn.execute(statement, values).rowcount))

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        if not rows:
            return
        statement, values = self.dialect.sql(sql), [self._params(r) for r in rows]

        def work(conn: Any) -> None:
            with _cursor(conn) as cur:
                cur.executemany(statement, values)

        self._on_connection(work)

    def rows(self, sql: str, params: Params = (), json_cols: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        """Every row as a dict; ``json_cols`` decoded from their JSON text."""
        statement, values = self.dialect.sql(sql), self._params(params)

        def fetch(conn: Any) -> tuple[list[str], list[Any]]:
            cursor = conn.execute(statement, values)
            return [c[0] for c in cursor.description], cursor.fetchall()

        names, found = self._on_connection(fetch)
        out = [dict(zip(names, row, strict=True)) for row in found]
        for item in out if json_cols else ():
            for col in json_cols:
                if isinstance(item.get(col), str):
                    item[col] = json.loads(item[col])
        return out

    def one(self, sql: str, params: Params = (), json_cols: tuple[str, ...] = ()) -> dict[str, Any] | None:
        found = self.rows(sql, params, json_cols)
        return found[0] if found else None

    def scalar(self, sql: str, params: Params = ()) -> Any:
        """The first column of the first row, or None."""
        statement, values = self.dialect.sql(sql), self._params(params)
        row = self._on_connection(lambda conn: conn.execute(statement, values).fetchone())
        return row[0] if row else None


@contextmanager
def _cursor(conn: Any) -> Iterator[Any]:
    """A cursor of ``conn`` (sqlite3 and psycopg both have ``cursor()``; both close on ``close()``)."""
    cur = conn.cursor()
    try:
        yield cur
    finally:
        cur.close()


def chunks(values: Sequence[T], size: int = 500) -> Iterator[Sequence[T]]:
    """``values`` in slices small enough for an ``IN (?, ...)`` list on either database."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def marks(n: int) -> str:
    """``?,?,...`` for an ``IN`` list of ``n`` values."""
    return ",".join("?" * n)
