"""Loading what lineage needs, in a few queries, before any walking: the process graph upstream of a
lot (one recursive query, bounded by depth), the records of its source lots (one query per table for
all of them), identification counts and open alarms. The walk and the arithmetic are pure
(``lineage.py``) and are tested on hand-built ``Graph``/``SourceRecord`` values.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from gateway.composition.ident_repo import LOT_PRODUCTS, match_lot
from gateway.store.base import Store
from gateway.store.db import Database, chunks, marks
from gateway.store.sql import json_columns

MAX_DEPTH = 64
STEP_COLUMNS = ("step_id", "kind", "plant", "site", "ended_at", "balance_ok", "input_mass_kg", "output_mass_kg",
                "declared_loss_kg")


@dataclass(frozen=True)
class Graph:
    """The steps upstream of a lot: step rows, their flows (sorted by lot) and which steps made each lot."""

    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    inputs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    outputs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    made_by: dict[str, list[tuple[str, float]]] = field(default_factory=dict)

    def producing(self, lot_id: str) -> list[tuple[str, float]]:
        """(step, mass of ``lot_id`` it output) for every step that made ``lot_id``, by step id."""
        return self.made_by.get(lot_id, [])

    @classmethod
    def of(cls, steps: list[dict[str, Any]], flows: list[dict[str, Any]]) -> Graph:
        """From step rows and flow rows (``step_id``, ``direction``, ``lot_id``, ``mass_kg``)."""
        graph = cls({s["step_id"]: {k: s[k] for k in STEP_COLUMNS} for s in steps})
        for f in sorted(flows, key=lambda f: (f["step_id"], f["lot_id"])):
            if f["step_id"] in graph.steps:
                side = graph.inputs if f["direction"] == "in" else graph.outputs
                side.setdefault(f["step_id"], []).append({"lot_id": f["lot_id"], "mass_kg": f["mass_kg"]})
                if f["direction"] == "out":
                    graph.made_by.setdefault(f["lot_id"], []).append((f["step_id"], f["mass_kg"]))
        return graph


@dataclass(frozen=True)
class SourceRecord:
    """What is known of one source lot: its intake record (or None) and its products."""

    intake: dict[str, Any] | None
    products: list[dict[str, Any]]


_UPSTREAM = (
    "WITH RECURSIVE up(lot_id, depth) AS (SELECT CAST(? AS TEXT), 0 UNION "
    "SELECT i.lot_id, up.depth + 1 FROM up JOIN process_flows o ON o.lot_id = up.lot_id AND o.direction = 'out' "
    "JOIN process_flows i ON i.step_id = o.step_id AND i.direction = 'in' WHERE up.depth < ?), "
    "made AS (SELECT DISTINCT o.step_id FROM up JOIN process_flows o ON o.lot_id = up.lot_id "
    "AND o.direction = 'out') "
    "SELECT f.step_id, f.direction, f.lot_id, f.mass_kg, " + ", ".join(f"s.{c} AS s_{c}" for c in STEP_COLUMNS[1:])
    + " FROM made JOIN process_steps s ON s.step_id = made.step_id JOIN process_flows f ON f.step_id = made.step_id")


def load_graph(db: Database, lot_id: str, max_depth: int = MAX_DEPTH) -> Graph:
    """Every step within ``max_depth`` steps upstream of ``lot_id`` with all its flows: one query."""
    rows = db.rows(_UPSTREAM, (lot_id, max_depth))
    steps = {r["step_id"]: {"step_id": r["step_id"], **{c: r[f"s_{c}"] for c in STEP_COLUMNS[1:]}} for r in rows}
    return Graph.of(list(steps.values()), rows)


def _in(db: Database, sql: str, ids: list[str], json_cols: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """``sql`` with one ``IN ({marks})`` over ``ids``, run in chunks."""
    out: list[dict[str, Any]] = []
    for part in chunks(ids):
        out += db.rows(sql.format(marks=marks(len(part))), list(part), json_cols)
    return out


def load_sources(db: Database, lot_ids: list[str], store: Store | None = None) -> dict[str, SourceRecord]:
    """The intake record and products of each source lot: recorded intake products, else matched camera
    identifications (matched now if never matched), else, with a ``store``, the product models the
    lot's measurement names. A fixed number of queries whatever the number of lots."""
    ids = sorted(set(lot_ids))
    if not ids:
        return {}
    intakes = {r["lot_id"]: r for r in _in(db, "SELECT * FROM intake_lots WHERE lot_id IN ({marks})", ids, ("doc",))}
    products: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in _in(db, "SELECT lot_id, model, product_id, manufacturer, category, n_items, mass_kg FROM intake_products "
                 "WHERE lot_id IN ({marks}) ORDER BY lot_id, model", ids):
        products[r.pop("lot_id")].append(r)
    pending = [i for i in ids if not products[i]]
    matched = {r["lot_id"] for r in _in(db, "SELECT DISTINCT lot_id FROM ident_matches WHERE lot_id IN ({marks})",
                                        pending)}
    if store is not None:
        with_idents = {r["lot_id"] for r in _in(db, "SELECT DISTINCT lot_id FROM readings WHERE kind = 'ident' "
                                                "AND lot_id IN ({marks})", [i for i in pending if i not in matched])}
        for lot_id in sorted(with_idents):
            match_lot(db, store, lot_id)  # camera identifications not matched yet: match (and remember) now
        matched |= with_idents
    if matched:
        for r in _in(db, LOT_PRODUCTS, sorted(matched)):
            products[r["lot_id"]].append(
                {"model": r["model"], "product_id": r["product_id"], "manufacturer": r["manufacturer"],
                 "category": r["category"], "n_items": r["n_items"],
                 "mass_kg": r["mass_mg"] * r["n_items"] / 1e6 if r.get("mass_mg") else None})
    pending = [i for i in ids if not products[i]]
    if pending and store is not None:
        models = {i: _measured_models(r.get("measurement")) for r in _in(
            db, "SELECT lot_id, measurement FROM lots WHERE lot_id IN ({marks})", pending) for i in [r["lot_id"]]}
        names = sorted({pm["model"] for pms in models.values() for pm in pms})
        records: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in _in(db, "SELECT * FROM comp_products WHERE model IN ({marks})", names):
            records[r["model"]].append(r)
        for lot_id in pending:
            for pm in models.get(lot_id, []):
                rec = records[pm["model"]][0] if len(records[pm["model"]]) == 1 else {}
                n = int(pm.get("count") or 1)
                products[lot_id].append({"model": pm["model"], "product_id": rec.get("product_id"),
                                         "manufacturer": rec.get("manufacturer"), "category": rec.get("category"),
                                         "n_items": n, "mass_kg": rec["mass_mg"] * n / 1e6 if rec.get("mass_mg")
                                         else None})
    return {i: SourceRecord(intakes.get(i), products[i]) for i in ids}


def _measured_models(raw: Any) -> list[dict[str, Any]]:
    """The ``product_models`` a lot's stored measurement names (entries without a model skipped)."""
    meas = json_columns({"measurement": raw})["measurement"]
    found = meas.get("product_models") if isinstance(meas, dict) else None
    return [pm for pm in found or [] if isinstance(pm, dict) and pm.get("model")]


def ident_counts(db: Database, lot_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Identification matches per lot, counted by (status, method)."""
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in _in(db, "SELECT lot_id, status, method, COUNT(*) AS n FROM ident_matches WHERE lot_id IN ({marks}) "
                 "GROUP BY lot_id, status, method ORDER BY lot_id, status, method", sorted(set(lot_ids))):
        out[r.pop("lot_id")].append(r)
    return dict(out)


def open_alarms(db: Database) -> list[dict[str, Any]]:
    """Uncleared balance alarms, oldest first."""
    return db.rows("SELECT * FROM balance_alarms WHERE cleared_at IS NULL ORDER BY id", (), ("detail",))


def descendants(db: Database, lot_id: str, max_depth: int = MAX_DEPTH) -> list[str]:
    """Every lot made (directly or not) from ``lot_id`` within ``max_depth`` steps: one query, sorted."""
    rows = db.rows("WITH RECURSIVE down(lot_id, depth) AS (SELECT CAST(? AS TEXT), 0 UNION "
                   "SELECT o.lot_id, down.depth + 1 FROM down JOIN process_flows i ON i.lot_id = down.lot_id "
                   "AND i.direction = 'in' JOIN process_flows o ON o.step_id = i.step_id AND o.direction = 'out' "
                   "WHERE down.depth < ?) SELECT DISTINCT lot_id FROM down WHERE depth > 0 ORDER BY lot_id",
                   (lot_id, max_depth))
    return [r["lot_id"] for r in rows if r["lot_id"] != lot_id]
