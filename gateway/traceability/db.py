"""Portable SQL access for the traceability/evidence tables over the store's own connection.

SQL is written with ``?`` placeholders and converted for psycopg (``%s``), like ``BatchWriter``; JSON
lives in TEXT columns. ``tx()`` is one transaction on either database, so a file import, a recorded step
or an outbox claim is all-or-nothing.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from gateway.store.base import Store


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


class Db:
    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.sqlite = isinstance(conn, sqlite3.Connection)
        self.ph = "?" if self.sqlite else "%s"
        self._depth = 0

    @classmethod
    def of(cls, store: Store) -> Db:
        """The store's connection (SQLite: per thread; PostgreSQL stores expose ``conn`` as well)."""
        conn = getattr(store, "conn", None)
        if conn is None:
            raise TypeError(f"{type(store).__name__} exposes no 'conn' for the evidence tables")
        return cls(conn)

    def _sql(self, sql: str) -> str:
        return sql if self.sqlite else sql.replace("?", self.ph)

    def execute(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> Any:
        return self.conn.execute(self._sql(sql), params)

    def rows(self, sql: str, params: tuple[Any, ...] | list[Any] = (), json_cols: tuple[str, ...] = ()
             ) -> list[dict[str, Any]]:
        cursor = self.conn.execute(self._sql(sql), params)
        names = [c[0] for c in cursor.description]
        out = []
        for row in cursor.fetchall():
            item = dict(zip(names, row, strict=True))
            for col in json_cols:
                if isinstance(item.get(col), str):
                    item[col] = json.loads(item[col])
            out.append(item)
        return out

    def one(self, sql: str, params: tuple[Any, ...] | list[Any] = (), json_cols: tuple[str, ...] = ()
            ) -> dict[str, Any] | None:
        found = self.rows(sql, params, json_cols)
        return found[0] if found else None

    @contextmanager
    def tx(self) -> Iterator[Db]:
        """One transaction; nested calls join the outer one."""
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        self._depth = 1
        try:
            if self.sqlite:
                self.conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self
                    self.conn.execute("COMMIT")
                except BaseException:
                    self.conn.execute("ROLLBACK")
                    raise
            else:
                with self.conn.transaction():
                    yield self
        finally:
            self._depth = 0


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
