"""Ident readings of a lot -> stored matches; the operator queue of unmatched identifications."""

from __future__ import annotations

from collections import Counter
from typing import cast

from gateway.composition.matching import match_ident
from gateway.composition.repo import model_index
from gateway.composition.rows import IdentMatchRow, Observed
from gateway.store.base import Store
from gateway.store.db import Database, dumps, now_iso
from gateway.traceability.rows import LotProductRow

JSON_COLS = ("observed", "candidates")


def match_lot(db: Database, store: Store, lot_id: str) -> dict[str, int]:
    """(Re)match the lot's ident readings; operator decisions ('resolved', 'rejected') are kept."""
    index = model_index(db)
    counts: Counter[str] = Counter()
    with db.tx():
        for reading in store.lot_readings(lot_id, kind="ident"):
            key = (reading["agent"], reading["msg_id"], reading["idx"])
            prior = db.one("SELECT status FROM ident_matches WHERE agent = ? AND msg_id = ? AND idx = ?", key)
            if prior and prior["status"] in ("resolved", "rejected"):
                counts[prior["status"]] += 1
                continue
            raw = reading.get("data")
            data = raw if isinstance(raw, dict) else {}
            result = match_ident(data, index)
            counts[result.status] += 1
            db.execute("DELETE FROM ident_matches WHERE agent = ? AND msg_id = ? AND idx = ?", key)
            db.execute(
                "INSERT INTO ident_matches (agent, msg_id, idx, lot_id, observed, status, product_id, model, method, "
                "score, candidates, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (*key, lot_id, dumps(Observed(data=data, strings=result.observed, ts=reading["ts"],
                                              device=reading["device"])),
                 result.status, result.product_id, result.model, result.method, result.score,
                 dumps(result.candidates), now_iso()))
    return dict(counts)


def list_matches(db: Database, *, lot_id: str | None = None, status: str | None = None, limit: int = 500
                 ) -> list[IdentMatchRow]:
    where, params = ["1=1"], []
    if lot_id:
        where.append("lot_id = ?")
        params.append(lot_id)
    if status:
        where.append("status = ?")
        params.append(status)
    return cast(list[IdentMatchRow], db.rows(
        f"SELECT * FROM ident_matches WHERE {' AND '.join(where)} ORDER BY updated_at, agent, msg_id, idx LIMIT ?",
        [*params, limit], JSON_COLS))


def resolve(db: Database, agent: str, msg_id: str, idx: int, product_id: str | None, by: str | None
            ) -> IdentMatchRow:
    """Operator decision: assign a product (``resolved``) or declare it not a known product (``rejected``)."""
    key = (agent, msg_id, idx)
    with db.tx():
        row = db.one("SELECT * FROM ident_matches WHERE agent = ? AND msg_id = ? AND idx = ?", key)
        if row is None:
            raise KeyError(f"no identification {agent}/{msg_id}/{idx}")
        model = None
        if product_id is not None:
            product = db.one("SELECT model FROM comp_products WHERE product_id = ?", (product_id,))
            if product is None:
                raise ValueError(f"unknown product {product_id!r}: import its composition record first")
            model = product["model"]
        db.execute("UPDATE ident_matches SET status = ?, product_id = ?, model = ?, method = ?, score = ?, "
                   "resolved_by = ?, updated_at = ? WHERE agent = ? AND msg_id = ? AND idx = ?",
                   ("resolved" if product_id else "rejected", product_id, model, "operator", None, by, now_iso(),
                    *key))
        updated = db.one("SELECT * FROM ident_matches WHERE agent = ? AND msg_id = ? AND idx = ?", key, JSON_COLS)
    assert updated is not None
    return cast(IdentMatchRow, updated)


LOT_PRODUCTS = ("SELECT m.lot_id, m.product_id, m.model, p.manufacturer, p.category, p.mass_mg, COUNT(*) AS n_items "
                "FROM ident_matches m LEFT JOIN comp_products p ON p.product_id = m.product_id "
                "WHERE m.lot_id IN ({marks}) AND m.status IN ('matched', 'resolved') "
                "GROUP BY m.lot_id, m.product_id, m.model, p.manufacturer, p.category, p.mass_mg "
                "ORDER BY m.lot_id, m.model")


def lot_products(db: Database, lot_id: str) -> list[LotProductRow]:
    """Matched or operator-resolved products of a lot, counted per product."""
    return cast(list[LotProductRow], db.rows(LOT_PRODUCTS.format(marks="?"), (lot_id,)))


def match_pending(db: Database, store: Store) -> int:
    """Match every lot that has ident readings not matched yet (after new records were imported, too)."""
    lots = [r["lot_id"] for r in db.rows(
        "SELECT DISTINCT r.lot_id FROM readings r LEFT JOIN ident_matches m ON m.agent = r.agent "
        "AND m.msg_id = r.msg_id AND m.idx = r.idx WHERE r.kind = 'ident' AND r.lot_id IS NOT NULL "
        "AND (m.agent IS NULL OR m.status = 'unmatched')")]
    for lot_id in lots:
        match_lot(db, store, lot_id)
    return len(lots)
