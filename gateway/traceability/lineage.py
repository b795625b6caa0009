"""Lineage both ways: an output lot -> source lots, products, models, plants with mass contributions;
a product model -> the output lots that contain it.

Allocation rule (documented in docs/evidence.md): a step mixes its inputs, so an output of mass ``o``
from a step with total output ``O`` takes ``in_i * o / O`` of each input ``i`` (input-attributed mass,
before losses). Inside an intake lot, mass is split over its products by their mass (weighed or from
the composition record), else by item count (flagged). Contributions therefore sum to the output
lot's share of its steps' input mass, which equals its own mass within the steps' loss tolerance.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from gateway.composition.ident_repo import lot_products, match_lot, match_pending
from gateway.store.base import Store
from gateway.store.db import Database

MAX_DEPTH = 64


class LineageError(Exception):
    pass


def _producing(db: Database, lot_id: str) -> list[dict[str, Any]]:
    return db.rows("SELECT f.step_id, f.mass_kg, s.output_mass_kg, s.input_mass_kg, s.kind, s.plant, s.site, "
                   "s.ended_at, s.balance_ok, s.declared_loss_kg FROM process_flows f "
                   "JOIN process_steps s ON s.step_id = f.step_id WHERE f.direction = 'out' AND f.lot_id = ?",
                   (lot_id,))


def _inputs(db: Database, step_id: str) -> list[dict[str, Any]]:
    return db.rows("SELECT lot_id, mass_kg FROM process_flows WHERE step_id = ? AND direction = 'in' ORDER BY lot_id",
                   (step_id,))


def source_products(db: Database, store: Store | None, lot_id: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """Intake record (or None) and products of a source lot: recorded intake, else matched idents."""
    intake = db.one("SELECT * FROM intake_lots WHERE lot_id = ?", (lot_id,), ("doc",))
    products = db.rows("SELECT model, product_id, manufacturer, category, n_items, mass_kg FROM intake_products "
                       "WHERE lot_id = ? ORDER BY model", (lot_id,))
    if not products and store is not None and db.one("SELECT agent FROM ident_matches WHERE lot_id = ?",
                                                     (lot_id,)) is None:
        match_lot(db, store, lot_id)  # camera identifications not matched yet: match (and remember) now
    if not products:
        products = [{"model": r["model"], "product_id": r["product_id"], "manufacturer": r["manufacturer"],
                     "category": r["category"], "n_items": r["n_items"],
                     "mass_kg": r["mass_mg"] * r["n_items"] / 1e6 if r.get("mass_mg") else None}
                    for r in lot_products(db, lot_id)]
    if not products and store is not None:
        lot = store.get_lot(lot_id)
        meas = (lot or {}).get("measurement") or {}
        for pm in meas.get("product_models") or [] if isinstance(meas, dict) else []:
            if isinstance(pm, dict) and pm.get("model"):
                rec = db.rows("SELECT * FROM comp_products WHERE model = ?", (pm["model"],))
                r = rec[0] if len(rec) == 1 else {}
                n = int(pm.get("count") or 1)
                products.append({"model": pm["model"], "product_id": r.get("product_id"),
                                 "manufacturer": r.get("manufacturer"), "category": r.get("category"), "n_items": n,
                                 "mass_kg": r["mass_mg"] * n / 1e6 if r.get("mass_mg") else None})
    return intake, products


def split_over_products(mass_kg: float, products: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str]:
    """Pure: allocate a source lot's attributed mass over its products (by mass, else by item count)."""
    if not products:
        return [], "none"
    if all(p.get("mass_kg") for p in products):
        total, key = sum(p["mass_kg"] for p in products), "mass_kg"
        basis = "product mass"
    else:
        total, key = sum(p["n_items"] for p in products), "n_items"
        basis = "item count (product mass unknown)"
    return [{**p, "attributed_kg": mass_kg * p[key] / total} for p in products], basis


def backward(db: Database, lot_id: str, store: Store | None = None) -> dict[str, Any]:
    """All source lots of ``lot_id`` with input-attributed masses, and the models/plants/steps behind them."""
    lot = store.get_lot(lot_id) if store is not None else None
    producing = _producing(db, lot_id)
    if not producing and lot is None and db.one("SELECT lot_id FROM intake_lots WHERE lot_id = ?", (lot_id,)) is None:
        raise LineageError(f"lot {lot_id!r} is unknown (no step, intake or stored lot)")
    lot_mass = sum(p["mass_kg"] for p in producing) if producing else (
        (lot or {}).get("net_mass_kg") or (db.one("SELECT net_mass_kg FROM intake_lots WHERE lot_id = ?", (lot_id,))
                                           or {}).get("net_mass_kg") or 0.0)
    sources: dict[str, float] = defaultdict(float)
    steps: dict[str, dict[str, Any]] = {}

    def walk(current: str, mass: float, path: tuple[str, ...]) -> None:
        if current in path:
            raise LineageError(f"cycle in process graph at lot {current}")
        if len(path) > MAX_DEPTH:
            raise LineageError(f"lineage deeper than {MAX_DEPTH} steps at lot {current}")
        made_by = _producing(db, current)
        if not made_by:
            sources[current] += mass
            return
        produced = sum(p["mass_kg"] for p in made_by)
        for p in made_by:
            share = mass * (p["mass_kg"] / produced if produced else 1.0 / len(made_by))
            if p["step_id"] not in steps:
                steps[p["step_id"]] = {k: p[k] for k in ("step_id", "kind", "plant", "site", "ended_at", "balance_ok",
                                                         "input_mass_kg", "output_mass_kg", "declared_loss_kg")}
                steps[p["step_id"]]["balance_ok"] = bool(p["balance_ok"])
                steps[p["step_id"]]["inputs"] = _inputs(db, p["step_id"])
                steps[p["step_id"]]["outputs"] = db.rows(
                    "SELECT lot_id, mass_kg FROM process_flows WHERE step_id = ? AND direction = 'out' ORDER BY lot_id",
                    (p["step_id"],))
            for inp in steps[p["step_id"]]["inputs"]:
                walk(inp["lot_id"], inp["mass_kg"] * share / p["output_mass_kg"] if p["output_mass_kg"] else 0.0,
                     (*path, current))

    walk(lot_id, float(lot_mass), ())
    source_rows: list[dict[str, Any]] = []
    models: dict[str, dict[str, Any]] = defaultdict(lambda: {"attributed_kg": 0.0})
    plants: set[str] = {s["plant"] for s in steps.values() if s.get("plant")}
    for src, mass in sorted(sources.items()):
        intake, products = source_products(db, store, src)
        split, basis = split_over_products(mass, products)
        if intake and intake.get("plant"):
            plants.add(intake["plant"])
        source_rows.append({
            "lot_id": src, "attributed_kg": round(mass, 6),
            "received_at": intake["received_at"] if intake else None,
            "source_stream": intake["source_stream"] if intake else None,
            "consumer": intake["consumer"] if intake else None,
            "plant": intake["plant"] if intake else None,
            "net_mass_kg": intake["net_mass_kg"] if intake else None,
            "allocation": basis,
            "products": [{k: p.get(k) for k in ("model", "product_id", "manufacturer", "category", "n_items")}
                         | {"attributed_kg": round(p["attributed_kg"], 6)} for p in split],
        })
        for p in split:
            m = models[p["model"]]
            m.update({k: p.get(k) for k in ("product_id", "manufacturer", "category")})
            m["attributed_kg"] += p["attributed_kg"]
            m.setdefault("source_lots", []).append(src)
    total_in = sum(sources.values())
    model_rows = [{"model": k, **v, "attributed_kg": round(v["attributed_kg"], 6),
                   "share": round(v["attributed_kg"] / total_in, 6) if total_in else None}
                  for k, v in sorted(models.items())]
    unattributed = total_in - sum(r["attributed_kg"] for r in model_rows)
    return {
        "lot_id": lot_id, "lot_mass_kg": round(float(lot_mass), 6),
        "source_input_mass_kg": round(total_in, 6),
        "unattributed_kg": round(unattributed, 6),
        "sources": source_rows, "models": model_rows, "plants": sorted(plants),
        "steps": sorted(steps.values(), key=lambda s: (s["ended_at"], s["step_id"])),
    }


def descendants(db: Database, lot_id: str) -> list[str]:
    """Every lot made (directly or not) from ``lot_id``, in discovery order."""
    seen: list[str] = []
    frontier = [lot_id]
    while frontier:
        current = frontier.pop(0)
        for row in db.rows("SELECT DISTINCT o.lot_id FROM process_flows i JOIN process_flows o "
                           "ON o.step_id = i.step_id AND o.direction = 'out' WHERE i.direction = 'in' AND i.lot_id = ?",
                           (current,)):
            if row["lot_id"] not in seen:
                seen.append(row["lot_id"])
                frontier.append(row["lot_id"])
    return seen


def forward_model(db: Database, model: str, store: Store | None = None, terminal_only: bool = True) -> dict[str, Any]:
    """Output lots that contain ``model``, with the mass of that model attributed to each."""
    from gateway.composition.matching import normalise_model

    norm = normalise_model(model)
    if store is not None:
        match_pending(db, store)
    intake_lots = {r["lot_id"] for r in db.rows("SELECT lot_id, model FROM intake_products") if
                   normalise_model(r["model"]) == norm}
    intake_lots |= {r["lot_id"] for r in db.rows(
        "SELECT DISTINCT lot_id, model FROM ident_matches WHERE status IN ('matched','resolved')")
        if r["model"] and normalise_model(r["model"]) == norm and r["lot_id"]}
    outputs: list[dict[str, Any]] = []
    for lot in sorted({d for src in intake_lots for d in descendants(db, src)}):
        consumed = db.one("SELECT step_id FROM process_flows WHERE direction = 'in' AND lot_id = ?", (lot,))
        if terminal_only and consumed:
            continue
        lin = backward(db, lot, store)
        contrib = sum(m["attributed_kg"] for m in lin["models"] if normalise_model(m["model"]) == norm)
        outputs.append({"lot_id": lot, "lot_mass_kg": lin["lot_mass_kg"], "model_attributed_kg": round(contrib, 6),
                        "model_share": round(contrib / lin["source_input_mass_kg"], 6)
                        if lin["source_input_mass_kg"] else None, "terminal": consumed is None})
    return {"model": model, "intake_lots": sorted(intake_lots), "output_lots": outputs}


def blocking_alarms(db: Database, lineage: dict[str, Any]) -> list[dict[str, Any]]:
    """Uncleared balance alarms on any step of this lineage, or on a period containing one: claims blocked."""
    step_ids = {s["step_id"] for s in lineage["steps"]}
    ends = [s["ended_at"] for s in lineage["steps"]]
    found = []
    for alarm in db.rows("SELECT * FROM balance_alarms WHERE cleared_at IS NULL ORDER BY id", (), ("detail",)):
        if alarm["scope"] == "step" and alarm["ref"] in step_ids:
            found.append(alarm)
        elif alarm["scope"] == "period":
            start, _, end = alarm["ref"].partition("/")
            if any(start <= e < end for e in ends):
                found.append(alarm)
    return found
