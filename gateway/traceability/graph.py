"""Loading what lineage needs, in a few queries, before any walking: the process graph upstream of a
lot (one recursive query, bounded by depth), the records of its source lots (one query per table for
all of them), identification counts and open alarms. The walk and the arithmetic are pure
(``lineage.py``) and are tested on hand-built ``Graph``/``SourceRecord`` values.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar, cast

from typing_extensions import TypedDict

from gateway.composition.ident_repo import LOT_PRODUCTS, match_lot
from gateway.store.base import Store
from gateway.store.db import Database, chunks, marks
from gateway.store.sql import json_columns
from gateway.traceability.repo import PRODUCT_FACTS
from gateway.traceability.rows import (
    AlarmRow,
    FlowMass,
    GraphStep,
    IdentCount,
    IntakeLot,
    IntakeProductRow,
    LotProductRow,
    ProductFacts,
    ProductLine,
    UpstreamRow,
)
from junkan.core.evidence import Flow, StepBalance
from junkan.core.json_types import JsonObject

R = TypeVar("R")

MAX_DEPTH = 64
SEEDS = 200  # lots per recursive query: SQLite allows 500 terms in a compound SELECT
STEP_COLUMNS = ("step_id", "kind", "plant", "site", "ended_at", "balance_ok", "input_mass_kg", "output_mass_kg",
                "declared_loss_kg")


@dataclass(frozen=True)
class Graph:
    """The steps upstream of a lot, each with its flows (sorted by lot), and which steps made each lot."""

    steps: dict[str, StepBalance] = field(default_factory=dict)
    made_by: dict[str, list[tuple[str, float]]] = field(default_factory=dict)

    def producing(self, lot_id: str) -> list[tuple[str, float]]:
        """(step, mass of ``lot_id`` it output) for every step that made ``lot_id``, by step id."""
        return self.made_by.get(lot_id, [])

    @classmethod
    def of(cls, steps: Sequence[GraphStep], flows: Sequence[FlowMass]) -> Graph:
        """From step rows and flow rows (``step_id``, ``direction``, ``lot_id``, ``mass_kg``)."""
        sides: dict[tuple[str, str], list[Flow]] = defaultdict(list)
        made_by: dict[str, list[tuple[str, float]]] = {}
        known = {s["step_id"] for s in steps}
        for f in sorted(flows, key=lambda f: (f["step_id"], f["lot_id"])):
            if f["step_id"] in known:
                sides[(f["step_id"], f["direction"])].append(Flow(lot_id=f["lot_id"], mass_kg=f["mass_kg"]))
                if f["direction"] == "out":
                    made_by.setdefault(f["lot_id"], []).append((f["step_id"], f["mass_kg"]))
        return cls({s["step_id"]: StepBalance(
            step_id=s["step_id"], kind=s["kind"], plant=s["plant"], site=s["site"], ended_at=s["ended_at"],
            balance_ok=bool(s["balance_ok"]), input_mass_kg=s["input_mass_kg"], output_mass_kg=s["output_mass_kg"],
            declared_loss_kg=s["declared_loss_kg"], inputs=sides[(s["step_id"], "in")],
            outputs=sides[(s["step_id"], "out")]) for s in steps}, made_by)


@dataclass(frozen=True)
class SourceRecord:
    """What is known of one source lot: its intake record (or None) and its products."""

    intake: IntakeLot | None
    products: list[ProductLine]


_UPSTREAM = (
    "WITH RECURSIVE up(lot_id, depth) AS (SELECT CAST(? AS TEXT), 0 UNION "
    "SELECT i.lot_id, up.depth + 1 FROM up JOIN process_flows o ON o.lot_id = up.lot_id AND o.direction = 'out' "
    "JOIN process_flows i ON i.step_id = o.step_id AND i.direction = 'in' WHERE up.depth < ?), "
    "made AS (SELECT DISTINCT o.step_id FROM up JOIN process_flows o ON o.lot_id = up.lot_id "
    "AND o.direction = 'out') "
    "SELECT f.step_id, f.direction, f.lot_id, f.mass_kg, " + ", ".join(f"s.{c}" for c in STEP_COLUMNS[1:])
    + " FROM made JOIN process_steps s ON s.step_id = made.step_id JOIN process_flows f ON f.step_id = made.step_id")


def load_graph(db: Database, lot_id: str, max_depth: int = MAX_DEPTH) -> Graph:
    """Every step within ``max_depth`` steps upstream of ``lot_id`` with all its flows: one query (each row
    is a flow with its step's columns)."""
    return load_graphs(db, [lot_id], max_depth)


def load_graphs(db: Database, lot_ids: Sequence[str], max_depth: int = MAX_DEPTH) -> Graph:
    """The steps within ``max_depth`` steps upstream of any of ``lot_ids``, as one graph: one query per chunk
    of lots (a step met by two chunks keeps the flows of the first, so none is counted twice)."""
    by_step: dict[str, list[UpstreamRow]] = {}
    for part in chunks(sorted(set(lot_ids)), SEEDS):
        seeds = " UNION ".join(["SELECT CAST(? AS TEXT), 0"] * len(part))
        found: dict[str, list[UpstreamRow]] = defaultdict(list)
        for r in cast(list[UpstreamRow], db.rows(_UPSTREAM.replace("SELECT CAST(? AS TEXT), 0", seeds, 1),
                                                 (*part, max_depth))):
            found[r["step_id"]].append(r)
        for step_id, rows in found.items():
            by_step.setdefault(step_id, rows)
    rows = [r for step_rows in by_step.values() for r in step_rows]
    return Graph.of([step_rows[0] for step_rows in by_step.values()], rows)


def rows_in(db: Database, sql: str, ids: Sequence[str], row: type[R], json_cols: tuple[str, ...] = ()) -> list[R]:
    """``sql`` with one ``IN ({marks})`` over ``ids``, run in chunks; each row read as a ``row``."""
    out: list[R] = []
    for part in chunks(ids):
        out += cast(list[R], db.rows(sql.format(marks=marks(len(part))), list(part), json_cols))
    return out


class _LotId(TypedDict):
    lot_id: str


class _LotMeasurement(TypedDict):
    lot_id: str
    measurement: str | JsonObject | None  # the JSON text column, decoded by _measured_models


class _IdentRow(IdentCount):
    lot_id: str


def load_sources(db: Database, lot_ids: list[str], store: Store | None = None) -> dict[str, SourceRecord]:
    """The intake record and products of each source lot: recorded intake products, else matched camera
    identifications (matched now if never matched), else, with a ``store``, the product models the
    lot's measurement names. A fixed number of queries whatever the number of lots."""
    ids = sorted(set(lot_ids))
    if not ids:
        return {}
    intakes = {r["lot_id"]: r for r in rows_in(
        db, "SELECT lot_id, plant, received_at, source_stream, consumer, net_mass_kg FROM intake_lots "
        "WHERE lot_id IN ({marks})", ids, IntakeLot)}
    products: dict[str, list[ProductLine]] = defaultdict(list)
    for r in rows_in(db, "SELECT lot_id, model, product_id, manufacturer, category, n_items, mass_kg FROM "
                     "intake_products WHERE lot_id IN ({marks}) ORDER BY lot_id, model", ids, IntakeProductRow):
        products[r["lot_id"]].append(ProductLine(model=r["model"], product_id=r["product_id"],
                                                 manufacturer=r["manufacturer"], category=r["category"],
                                                 n_items=r["n_items"], mass_kg=r["mass_kg"]))
    pending = [i for i in ids if not products[i]]
    matched = {r["lot_id"] for r in rows_in(db, "SELECT DISTINCT lot_id FROM ident_matches WHERE lot_id IN ({marks})",
                                        pending, _LotId)}
    if store is not None:
        with_idents = {r["lot_id"] for r in rows_in(db, "SELECT DISTINCT lot_id FROM readings WHERE kind = 'ident' "
                                                "AND lot_id IN ({marks})", [i for i in pending if i not in matched],
                                                _LotId)}
        for lot_id in sorted(with_idents):
            match_lot(db, store, lot_id)  # camera identifications not matched yet: match (and remember) now
        matched |= with_idents
    if matched:
        for c in rows_in(db, LOT_PRODUCTS, sorted(matched), LotProductRow):
            products[c["lot_id"]].append(ProductLine(
                model=c["model"], product_id=c["product_id"], manufacturer=c["manufacturer"],
                category=c["category"], n_items=c["n_items"],
                mass_kg=c["mass_mg"] * c["n_items"] / 1e6 if c["mass_mg"] else None))
    pending = [i for i in ids if not products[i]]
    if pending and store is not None:
        models = {r["lot_id"]: _measured_models(r["measurement"]) for r in rows_in(
            db, "SELECT lot_id, measurement FROM lots WHERE lot_id IN ({marks})", pending, _LotMeasurement)}
        names = sorted({model for counts in models.values() for model, _ in counts})
        records: dict[str, list[ProductFacts]] = defaultdict(list)
        for rec in rows_in(db, PRODUCT_FACTS + " WHERE model IN ({marks})", names, ProductFacts):
            records[rec["model"]].append(rec)
        for lot_id in pending:
            for model, n in models.get(lot_id, []):
                one = records[model][0] if len(records[model]) == 1 else None
                mass_mg = one["mass_mg"] if one else None
                products[lot_id].append(ProductLine(
                    model=model, product_id=one["product_id"] if one else None,
                    manufacturer=one["manufacturer"] if one else None, category=one["category"] if one else None,
                    n_items=n, mass_kg=mass_mg * n / 1e6 if mass_mg else None))
    return {i: SourceRecord(intakes.get(i), products[i]) for i in ids}


def _measured_models(raw: str | JsonObject | None) -> list[tuple[str, int]]:
    """(model, count) of the ``product_models`` a lot's stored measurement names (entries without a model
    skipped; a count missing or zero counts one)."""
    meas = json_columns({"measurement": raw})["measurement"]
    found = meas.get("product_models") if isinstance(meas, dict) else None
    return [(pm["model"], int(pm.get("count") or 1)) for pm in found or [] if isinstance(pm, dict) and pm.get("model")]


def ident_counts(db: Database, lot_ids: list[str]) -> dict[str, list[IdentCount]]:
    """Identification matches per lot, counted by (status, method)."""
    out: dict[str, list[IdentCount]] = defaultdict(list)
    for r in rows_in(db, "SELECT lot_id, status, method, COUNT(*) AS n FROM ident_matches WHERE lot_id IN ({marks}) "
                 "GROUP BY lot_id, status, method ORDER BY lot_id, status, method", sorted(set(lot_ids)), _IdentRow):
        out[r["lot_id"]].append(IdentCount(status=r["status"], method=r["method"], n=r["n"]))
    return dict(out)


def open_alarms(db: Database) -> list[AlarmRow]:
    """Uncleared balance alarms, oldest first."""
    return cast(list[AlarmRow], db.rows("SELECT * FROM balance_alarms WHERE cleared_at IS NULL ORDER BY id", (),
                                        ("detail",)))


def descendants(db: Database, lot_ids: Sequence[str], max_depth: int = MAX_DEPTH) -> list[str]:
    """Every lot made (directly or not) from any of ``lot_ids`` within ``max_depth`` steps (a lot is not its
    own descendant): one query per chunk of lots, sorted."""
    found: set[str] = set()
    for part in chunks(sorted(set(lot_ids)), SEEDS):
        seeds = " UNION ".join(["SELECT CAST(? AS TEXT), CAST(? AS TEXT), 0"] * len(part))
        rows = db.rows(f"WITH RECURSIVE down(seed, lot_id, depth) AS ({seeds} UNION "
                       "SELECT down.seed, o.lot_id, down.depth + 1 FROM down JOIN process_flows i ON "
                       "i.lot_id = down.lot_id AND i.direction = 'in' JOIN process_flows o ON o.step_id = i.step_id "
                       "AND o.direction = 'out' WHERE down.depth < ?) SELECT DISTINCT lot_id FROM down "
                       "WHERE depth > 0 AND lot_id <> seed", [*(x for lot in part for x in (lot, lot)), max_depth])
        found |= {r["lot_id"] for r in rows}
    return sorted(found)


def consumed(db: Database, lot_ids: Sequence[str]) -> set[str]:
    """Which of ``lot_ids`` some step took as an input."""
    return {r["lot_id"] for r in rows_in(db, "SELECT DISTINCT lot_id FROM process_flows WHERE direction = 'in' "
                                     "AND lot_id IN ({marks})", sorted(set(lot_ids)), _LotId)}


class _LotMass(TypedDict):
    lot_id: str
    net_mass_kg: float | None


def lot_masses(db: Database, lot_ids: Sequence[str], table: str) -> dict[str, float | None]:
    """``net_mass_kg`` of those of ``lot_ids`` that have a row in ``table`` (``lots`` or ``intake_lots``)."""
    return {r["lot_id"]: r["net_mass_kg"] for r in rows_in(
        db, f"SELECT lot_id, net_mass_kg FROM {table} WHERE lot_id IN ({{marks}})", sorted(set(lot_ids)), _LotMass)}
