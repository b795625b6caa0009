"""Read queries of the ``Store`` protocol, written once (``?`` placeholders, SQL both databases accept),
so the API answers the same whichever database is behind it.
"""

from __future__ import annotations

from typing import Any, cast

from gateway.store.db import Database, Params
from gateway.store.rows import AgentRow, DeadLetterRow, DeviceRow, LotRow, ReadingRow
from gateway.store.sql import json_columns
from junkan.core.json_types import JsonObject


class StoreReads:
    """The read half of the ``Store`` protocol over the store's ``db``."""

    db: Database

    def _rows(self, sql: str, params: Params = ()) -> list[JsonObject]:
        """Rows as dicts with the JSON text columns of the core tables decoded."""
        return [json_columns(row) for row in self.db.rows(sql, params)]

    def _scalar(self, sql: str, params: Params = ()) -> Any:
        return self.db.scalar(sql, params)

    def list_lots(self, *, line: str | None = None, status: str | None = None, q: str | None = None,
                  limit: int = 100, offset: int = 0, recycler: str | None = None) -> list[LotRow]:
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
        return cast(list[LotRow], self._rows(sql, [*params, limit, offset]))

    def get_lot(self, lot_id: str, recycler: str | None = None) -> LotRow | None:
        if recycler is not None:
            rows = self._rows("SELECT * FROM lots WHERE lot_id = ? AND recycler = ?", (lot_id, recycler))
        else:
            rows = self._rows("SELECT * FROM lots WHERE lot_id = ?", (lot_id,))
        return cast(LotRow, rows[0]) if rows else None

    def lot_readings(self, lot_id: str, kind: str | None = None) -> list[ReadingRow]:
        order = " ORDER BY ts, device, device_seq"
        if kind:
            rows = self._rows("SELECT * FROM readings WHERE lot_id = ? AND kind = ?" + order, (lot_id, kind))
        else:
            rows = self._rows("SELECT * FROM readings WHERE lot_id = ?" + order, (lot_id,))
        return cast(list[ReadingRow], rows)

    def session_seqs_above(self, agent: str, session: str, seq: int, limit: int = 10_000) -> list[int]:
        """Stored sequence numbers of one agent session above ``seq``, ascending (gap detection)."""
        rows = self._rows("SELECT seq FROM messages WHERE agent = ? AND session = ? AND seq > ? ORDER BY seq LIMIT ?",
                          (agent, session, seq, limit))
        return [int(r["seq"]) for r in rows]

    def list_devices(self) -> list[DeviceRow]:
        return cast(list[DeviceRow], self._rows("SELECT * FROM devices ORDER BY line, agent, device"))

    def list_agents(self) -> list[AgentRow]:
        return cast(list[AgentRow], self._rows("SELECT * FROM agents ORDER BY line, agent"))

    def agents_for_line(self, line: str) -> list[AgentRow]:
        return cast(list[AgentRow], self._rows("SELECT * FROM agents WHERE line = ? ORDER BY agent", (line,)))

    def dead_letters(self, limit: int = 100, *, before_id: int | None = None, offset: int = 0,
                     reason: str | None = None, agent: str | None = None, include_payload: bool = True
                     ) -> list[DeadLetterRow]:
        """Newest first. Paging: ``before_id`` (the smallest id of the previous page: stable while new ones
        arrive) or ``offset``. ``reason`` is a code (``schema``, ``identity_mismatch`` ...), ``agent`` the
        topic's agent. The payload is shown as text, its first 2000 characters."""
        where: list[str] = ["1=1"]
        params: list[Any] = []
        if before_id is not None:
            where.append("id < ?")
            params.append(before_id)
        if reason:
            where.append("(reason = ? OR reason LIKE ?)")
            params += [reason, reason.replace("%", "") + ":%"]  # '_' matches itself too: codes are fixed words
        if agent:
            where.append("agent = ?")
            params.append(agent)
        rows = self._rows("SELECT id, topic, agent, " + ("payload, " if include_payload else "")
                          + "reason, size, sha256, truncated, received_at, replayed_at, replay_result "
                          f"FROM dead_letters WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ? OFFSET ?",
                          (*params, limit, offset))
        for row in rows:
            if include_payload:
                row["payload"] = bytes(row["payload"]).decode("utf-8", "replace")[:2000]
            row["truncated"] = bool(row["truncated"])
        return cast(list[DeadLetterRow], rows)

    def dead_letter_payload(self, letter_id: int) -> tuple[str, bytes, bool] | None:
        """(topic, raw payload, truncated) of one dead letter, for a replay."""
        rows = self._rows("SELECT topic, payload, truncated FROM dead_letters WHERE id = ?", (letter_id,))
        if not rows:
            return None
        return str(rows[0]["topic"]), bytes(rows[0]["payload"]), bool(rows[0]["truncated"])

    def counts(self) -> dict[str, int]:
        tables = ("messages", "readings", "lots", "dead_letters", "devices", "agents")
        return {t: int(self._scalar(f"SELECT COUNT(*) FROM {t}")) for t in tables}
