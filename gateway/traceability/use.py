"""The manufacturer's side of the revised 資源法 report: recycled lots received and used per product category.

A use record says manufacturer M received lot L (kg) and used some of it in products of category C. The
report sums, per (M, C) and period, what was received and used, and how much of the used mass is traced
here: lots recorded in this gateway as final product outputs are split by their lineage into post- and
pre-consumer content (none while the lot is behind an uncleared balance alarm: ``used_blocked_kg``); other
lots are ``untraced`` (the manufacturer's own word). A lot received beyond
its recorded mass, across every manufacturer, makes the report not ok (the same kilogram twice).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Literal, cast

from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict

from gateway.store.base import Store
from gateway.store.db import Database, dumps, now_iso
from gateway.traceability.graph import open_alarms, rows_in
from gateway.traceability.lineage import LineageError, alarms_blocking, lineages
from gateway.traceability.repo import where_given
from gateway.traceability.report import Period, check_period
from gateway.traceability.rows import AlarmRow, UseRecordRow
from junkan.core.evidence import Lineage
from junkan.core.ids import new_id
from junkan.core.traceability import RecycledUseIn

OVER_TOLERANCE = 0.005  # receipts may exceed the recycler's weighed mass by the scales' error only
COLUMNS = ("manufacturer", "category", "received_kg", "used_kg", "used_post_consumer_kg", "used_pre_consumer_kg",
           "used_untraced_kg", "used_blocked_kg", "n_lots")
_OUT = ConfigDict(extra="forbid")


@with_config(_OUT)
class Untraced(TypedDict):
    """A received lot this gateway cannot split into recycled content, and why."""

    lot_id: str
    traced: Literal[False]
    reason: str


@with_config(_OUT)
class Traced(TypedDict):
    """A received lot recorded here as a final product output, with its content split by lineage."""

    lot_id: str
    traced: Literal[True]
    mass_kg: float
    role: Annotated[str, Field(description="product, or unknown for outputs recorded before roles.")]
    post_consumer_share: float
    pre_consumer_share: float
    blocked: Annotated[bool, Field(description="Behind an uncleared balance alarm: no content counted.")]


LotStatus = Traced | Untraced


@with_config(_OUT)
class UseRecorded(TypedDict):
    use_id: str
    lot: Annotated[LotStatus, Field(description="What this gateway knows of the lot (traced, content shares, "
                                    "blocked).")]


@with_config(_OUT)
class OverReceived(TypedDict):
    lot_id: str
    received_kg: float
    lot_mass_kg: float


@with_config(_OUT)
class UseRow(TypedDict):
    """Recycled plastic received and used by one (manufacturer, category) in the period."""

    manufacturer: str
    category: str
    received_kg: float
    used_kg: float
    used_post_consumer_kg: float
    used_pre_consumer_kg: float
    used_untraced_kg: Annotated[float, Field(description="Used from lots not recorded here as final product "
                                             "outputs.")]
    used_blocked_kg: float
    n_lots: int


@with_config(_OUT)
class RecycledUse(TypedDict):
    """Recycled plastic received and used per manufacturer and product category in a period."""

    period: Period
    manufacturer: str | None
    rows: list[UseRow]
    lots: list[LotStatus]
    over_received: Annotated[list[OverReceived], Field(description="Lots received beyond their recorded mass "
                                                       "(all manufacturers).")]
    empty_reason: str | None
    ok: bool


class UseRepo:
    """Use records over the store's database object (table ``rc_uses``)."""

    def __init__(self, db: Database, store: Store | None = None) -> None:
        self.db, self.store = db, store

    def record(self, use: RecycledUseIn) -> UseRecorded:
        use_id = use.use_id or f"use-{new_id()}"
        doc = use.model_dump(mode="json") | {"use_id": use_id}
        used_at = (use.used_at or use.received_at)
        with self.db.tx():
            self.db.execute("DELETE FROM rc_uses WHERE use_id = ?", (use_id,))
            self.db.execute(
                "INSERT INTO rc_uses (use_id, manufacturer, category, lot_id, supplier, received_at, used_at, "
                "received_kg, used_kg, product_model, doc, recorded_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (use_id, use.manufacturer, use.category, use.lot_id, use.supplier, _utc(use.received_at),
                 _utc(used_at), use.received_kg, use.used_kg, use.product_model, dumps(doc), now_iso()))
        return {"use_id": use_id, "lot": self.lot_status(use.lot_id)}

    def find(self, start: datetime | None = None, end: datetime | None = None,
             manufacturer: str | None = None, limit: int = 1000, offset: int = 0) -> list[UseRecordRow]:
        where, params = where_given(("used_at >= ?", _utc(start) if start is not None else None),
                                    ("used_at < ?", _utc(end) if end is not None else None),
                                    ("manufacturer = ?", manufacturer or None))
        return cast(list[UseRecordRow], self.db.rows(f"SELECT * FROM rc_uses WHERE {where} ORDER BY used_at, use_id "
                                               "LIMIT ? OFFSET ?", [*params, limit, offset], ("doc",)))

    def lot_status(self, lot_id: str, alarms: Sequence[AlarmRow] | None = None) -> LotStatus:
        """What this gateway knows of a received lot: product output or not, its mass, content split
        (``alarms``: the open balance alarms, when the caller has read them already)."""
        return self.lot_statuses([lot_id], alarms)[lot_id]

    def lot_statuses(self, lot_ids: Sequence[str], alarms: Sequence[AlarmRow] | None = None) -> dict[str, LotStatus]:
        """``lot_status`` of every lot in ``lot_ids``: their final outputs and lineages loaded together."""
        outs: dict[str, _FinalOut] = {}
        for r in rows_in(self.db, "SELECT f.lot_id, f.mass_kg, f.role FROM process_flows f WHERE f.direction = 'out' "
                         "AND f.lot_id IN ({marks}) AND NOT EXISTS (SELECT 1 FROM process_flows c "
                         "WHERE c.direction = 'in' AND c.lot_id = f.lot_id)", sorted(set(lot_ids)), _FinalOut):
            outs.setdefault(r["lot_id"], r)
        products = [i for i, out in outs.items() if out["role"] in (None, "product")]
        walked = lineages(self.db, products, self.store) if products else {}
        if alarms is None:
            alarms = open_alarms(self.db) if products else []
        status: dict[str, LotStatus] = {}
        for lot_id in lot_ids:
            out, lin = outs.get(lot_id), walked.get(lot_id)
            if out is None or lin is None:
                reason = ("not a final output recorded here" if out is None
                          else f"recorded as a {out['role']}, not a product")
                status[lot_id] = {"lot_id": lot_id, "traced": False, "reason": reason}
            elif isinstance(lin, LineageError):
                status[lot_id] = {"lot_id": lot_id, "traced": False, "reason": str(lin)}
            else:
                status[lot_id] = _traced(out, lin, alarms)
        return status

    def over_received(self) -> list[OverReceived]:
        """Lots received (by all manufacturers, all time) beyond their recorded output mass."""
        rows = self.db.rows("SELECT u.lot_id, SUM(u.received_kg) AS received_kg, MAX(f.mass_kg) AS mass_kg "
                            "FROM rc_uses u JOIN process_flows f ON f.lot_id = u.lot_id AND f.direction = 'out' "
                            "GROUP BY u.lot_id")
        return [{"lot_id": r["lot_id"], "received_kg": round(float(r["received_kg"]), 6),
                 "lot_mass_kg": float(r["mass_kg"])} for r in rows
                if float(r["received_kg"]) > float(r["mass_kg"]) * (1 + OVER_TOLERANCE)]

    def report(self, start: datetime, end: datetime, manufacturer: str | None = None) -> RecycledUse:
        """Recycled plastic received and used per manufacturer and product category in [start, end)."""
        start, end = check_period(start, end)
        args = [start.isoformat(), end.isoformat()]
        who = " AND manufacturer = ?" if manufacturer else ""
        args += [manufacturer] if manufacturer else []
        received = self.db.rows("SELECT manufacturer, category, SUM(received_kg) AS kg FROM rc_uses WHERE "
                                f"received_at >= ? AND received_at < ?{who} GROUP BY manufacturer, category", args)
        used = cast(list[UseRecordRow], self.db.rows(f"SELECT * FROM rc_uses WHERE used_at >= ? AND used_at < ?{who} "
                                               "ORDER BY used_at", args))
        rows: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: dict.fromkeys(COLUMNS[2:-1], 0.0))
        lots: dict[tuple[str, str], set[str]] = defaultdict(set)
        for r in received:
            rows[(r["manufacturer"], r["category"])]["received_kg"] += float(r["kg"])
        status = self.lot_statuses(sorted({u["lot_id"] for u in used}), open_alarms(self.db))  # once per lot, together
        for u in used:
            lot = status[u["lot_id"]]
            key, kg = (u["manufacturer"], u["category"]), float(u["used_kg"])
            row = rows[key]
            row["used_kg"] += kg
            lots[key].add(u["lot_id"])
            if not lot["traced"]:
                row["used_untraced_kg"] += kg
                continue
            if lot["blocked"]:  # behind an uncleared balance alarm: no recycled content may be counted yet
                row["used_blocked_kg"] += kg
                continue
            row["used_post_consumer_kg"] += kg * lot["post_consumer_share"]
            row["used_pre_consumer_kg"] += kg * lot["pre_consumer_share"]
        out = [cast(UseRow, {"manufacturer": k[0], "category": k[1], **{c: round(v[c], 6) for c in COLUMNS[2:-1]},
                                   "n_lots": len(lots[k])}) for k, v in sorted(rows.items())]
        over = self.over_received()
        empty = None if out else (
            f"no recycled lot received or used in {start.isoformat()} .. {end.isoformat()}"
            + (f" by {manufacturer}" if manufacturer else "") + ": record uses (POST /api/v1/process/uses or "
            "'uses' in junkan gateway process) first")
        return {"period": {"start": start.isoformat(), "end": end.isoformat()}, "manufacturer": manufacturer,
                "rows": out, "lots": sorted(status.values(), key=lambda s: s["lot_id"]), "over_received": over,
                "empty_reason": empty, "ok": empty is None and not over}


class _FinalOut(TypedDict):
    lot_id: str
    mass_kg: float
    role: str | None


def _traced(out: _FinalOut, lin: Lineage, alarms: Sequence[AlarmRow]) -> LotStatus:
    """Pure: a traced lot's mass, role, content split and whether an alarm blocks it."""
    total = lin.source_input_mass_kg or 0.0
    post = sum(s.attributed_kg for s in lin.sources if s.consumer == "post_consumer")
    pre = sum(s.attributed_kg for s in lin.sources if s.consumer == "pre_consumer")
    return {"lot_id": out["lot_id"], "traced": True, "mass_kg": float(out["mass_kg"]), "role": out["role"] or "unknown",
            "post_consumer_share": post / total if total else 0.0, "pre_consumer_share": pre / total if total else 0.0,
            "blocked": bool(alarms_blocking(alarms, lin))}


def _utc(when: datetime) -> str:
    return when.astimezone(UTC).isoformat()
