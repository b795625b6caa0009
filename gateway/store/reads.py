"""Read queries of the ``Store`` protocol, written once (``?`` placeholders, SQL both databases accept),
so the API answers the same whichever database is behind it.
"""

from __future__ import annotations

from typing import Any

from gateway.store.db import Database, Params
from gateway.store.sql import json_columns


class StoreReads:
    """The read half of the ``Store`` protocol over the store's ``db``."""

    db: Database

    def _rows(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        """Rows as dicts with the JSON text columns of the core tables decoded."""
        return [json_columns(row) for row in self.db.rows(sql, params)]

    def _scalar(self, sql: str, params: Params = ()) -> Any:
        return self.db.scalar(sql, params)

    def list_lots(self, *, line: str | None = None, status: str | None = None, q: str | None = None,
                  limit: int = 100, offset: int = 0, recycler: str | None = None) -> list[dict[str, Any]]:
        """``recycler`` set: only lots addressed to that recycler (tenancy, enforced in the query)."""
        where, params = ["1=1"], []
        if recycler is not None:
            where.append("recycler = ?")
            params.append(recycler)
        if line:
            where.append("line = ?")
            params.append(line)
        if status:
            where.append("status = ?")
            params.append(status)
        if q:
            where.append("(lot_id LIKE ? OR line LIKE ?)")
            params += [f"%{q}%", f"%{q}%"]
        sql = (f"SELECT * FROM lots WHERE {' AND '.join(where)} "
               "ORDER BY opened_at DESC, lot_id LIMIT ? OFFSET ?")
        return self._rows(sql, [*params, limit, offset])

    def get_lot(self, lot_id: str, recycler: str | None = None) -> dict[str, Any] | None:
        if recycler is not None:
            rows = self._rows("SELECT * FROM lots WHERE lot_id = ? AND recycler = ?", (lot_id, recycler))
            return rows[0] if rows else None
        rows = self._rows("SELECT * FROM lots WHERE lot_id = ?", (lot_id,))
        return rows[0] if rows else None

    def lot_readings(self, lot_id: str, kind: str | None = None) -> list[dict[str, Any]]:
        order = " ORDER BY ts, device, device_seq"
        if kind:
            return self._rows("SELECT * FROM readings WHERE lot_id = ? AND kind = ?" + order, (lot_id, kind))
        return self._rows("SELECT * FROM readings WHERE lot_id = ?" + order, (lot_id,))

    def session_seqs_above(self, agent: str, session: str, seq: int, limit: int = 10_000) -> list[int]:
        """Stored sequence numbers of one agent session above ``seq``, ascending (gap detection)."""
        rows = self._rows("SELECT seq FROM messages WHERE agent = ? AND session = ? AND seq > ? ORDER BY seq LIMIT ?",
                          (agent, session, seq, limit))
        return [int(r["seq"]) for r in rows]

    def list_devices(self) -> list[dict[str, Any]]:
        return self._rows("SELECT * FROM devices ORDER BY line, agent, device")

    def list_agents(self) -> list[dict[str, Any]]:
        return self._rows("SELECT * FROM agents ORDER BY line, agent")

    def agents_for_line(self, line: str) -> list[dict[str, Any]]:
        return self._rows("SELECT * FROM agents WHERE line = ? ORDER BY agent", (line,))

    def dead_letters(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = self._rows("SELECT id, topic, payload, reason, received_at FROM dead_letters "
                          "ORDER BY id DESC LIMIT ?", (limit,))
        for row in rows:
            row["payload"] = bytes(row["payload"]).decode("utf-8", "replace")[:2000]
        return rows

    def counts(self) -> dict[str, int]:
        tables = ("messages", "readings", "lots", "dead_letters", "devices", "agents")
        return {t: int(self._scalar(f"SELECT COUNT(*) FROM {t}")) for t in tables}
