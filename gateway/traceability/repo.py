"""Recording the process graph: intake lots and steps, with the mass balance checked on the way in.

A step whose balance fails is still stored (the facts are the facts) but raises a ``balance_alarms``
row; claims over lots downstream of an uncleared alarm are blocked (see ``lineage.blocking_alarms``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, cast

from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict

from gateway.composition.matching import normalise_model
from gateway.store.base import Store
from gateway.store.db import Database, dumps, now_iso
from gateway.traceability.balance import balance
from gateway.traceability.rows import AlarmDetail, AlarmRow, Balance, ProductFacts, StepRow
from junkan.core.ids import new_id
from junkan.core.traceability import DEFAULT_TOLERANCE, IntakeIn, StepIn

PRODUCT_FACTS = "SELECT product_id, model, manufacturer, category, mass_mg FROM comp_products"
_OUT = ConfigDict(extra="forbid")


@with_config(_OUT)
class IntakeRecorded(TypedDict):
    lot_id: str
    net_mass_kg: float | None
    products: Annotated[int, Field(description="Product lines recorded.")]


@with_config(_OUT)
class StepRecorded(TypedDict):
    step_id: str
    balance: Balance


@with_config(_OUT)
class PeriodBalance(TypedDict):
    start: str
    end: str
    n_steps: int
    ok: bool
    balance: Annotated[Balance | None, Field(description="Null when no step ended in the period.")]
    failing_steps: list[str]


def _product_row(db: Database, model: str, product_id: str | None) -> ProductFacts | None:
    if product_id:
        return cast(ProductFacts | None, db.one(PRODUCT_FACTS + " WHERE product_id = ?", (product_id,)))
    rows = db.rows(PRODUCT_FACTS + " WHERE model_norm = ?", (normalise_model(model),))
    return cast(ProductFacts, rows[0]) if len(rows) == 1 else None


def record_intake(db: Database, intake: IntakeIn, store: Store | None = None) -> IntakeRecorded:
    """Store (or replace) an intake lot and its products; product records are linked by model if known."""
    net = intake.net_mass_kg
    if net is None and store is not None:
        lot = store.get_lot(intake.lot_id)
        net = float(lot["net_mass_kg"]) if lot and lot.get("net_mass_kg") else None
    doc = intake.model_dump(mode="json")
    doc["net_mass_kg"] = net
    with db.tx():
        db.execute("DELETE FROM intake_products WHERE lot_id = ?", (intake.lot_id,))
        db.execute("DELETE FROM intake_lots WHERE lot_id = ?", (intake.lot_id,))
        db.execute("INSERT INTO intake_lots (lot_id, site, plant, received_at, source_stream, consumer, net_mass_kg, "
                   "doc, recorded_at) VALUES (?,?,?,?,?,?,?,?,?)",
                   (intake.lot_id, intake.site, intake.plant, intake.received_at.isoformat(), intake.source_stream,
                    intake.consumer, net, dumps(doc), now_iso()))
        for p in intake.products:
            rec = _product_row(db, p.model, p.product_id)
            mass, mass_mg = p.mass_kg, rec["mass_mg"] if rec else None
            if mass is None and mass_mg:
                mass = mass_mg / 1e6 * p.n_items
            db.execute("INSERT INTO intake_products (lot_id, model, product_id, manufacturer, category, n_items, "
                       "mass_kg) VALUES (?,?,?,?,?,?,?)",
                       (intake.lot_id, p.model, rec["product_id"] if rec else p.product_id,
                        rec["manufacturer"] if rec else None, rec["category"] if rec else None, p.n_items, mass))
    return {"lot_id": intake.lot_id, "net_mass_kg": net, "products": len(intake.products)}


def _utc(when: datetime) -> str:
    """Times stored as UTC ISO text so that comparing the text compares the times (periods, alarms)."""
    return when.astimezone(UTC).isoformat()


def record_step(db: Database, step: StepIn, default_tolerance: float = DEFAULT_TOLERANCE) -> StepRecorded:
    """Store (or replace) a step; returns it with its balance. A violation raises an alarm row."""
    step_id = step.step_id or f"step-{new_id()}"
    tol = step.tolerance if step.tolerance is not None else default_tolerance
    bal = balance(sum(f.mass_kg for f in step.inputs), sum(f.mass_kg for f in step.outputs),
                  sum(loss.mass_kg for loss in step.losses), tol)
    doc = step.model_dump(mode="json")
    doc["step_id"] = step_id
    with db.tx():
        _check_no_cycle(db, step, step_id)
        db.execute("DELETE FROM process_flows WHERE step_id = ?", (step_id,))
        db.execute("DELETE FROM process_steps WHERE step_id = ?", (step_id,))
        db.execute("INSERT INTO process_steps (step_id, kind, site, plant, started_at, ended_at, input_mass_kg, "
                   "output_mass_kg, declared_loss_kg, unaccounted_kg, tolerance, balance_ok, doc, recorded_at) "
                   "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                   (step_id, step.kind, step.site, step.plant, _utc(step.started_at), _utc(step.ended_at),
                    bal["input_kg"], bal["output_kg"], bal["declared_loss_kg"], bal["unaccounted_kg"], tol,
                    int(bal["ok"]), dumps(doc), now_iso()))
        for direction, flows in (("in", step.inputs), ("out", step.outputs)):
            for f in flows:
                db.execute("INSERT INTO process_flows (step_id, direction, lot_id, mass_kg, role) VALUES (?,?,?,?,?)",
                           (step_id, direction, f.lot_id, f.mass_kg, f.role))
        if not bal["ok"]:
            raise_alarm(db, "step", step_id, {"balance": bal, "kind": step.kind})
    return {"step_id": step_id, "balance": bal}


def _check_no_cycle(db: Database, step: StepIn, step_id: str) -> None:
    """An output of this step must not be an ancestor of one of its inputs (lots flow forwards only)."""
    outputs = {f.lot_id for f in step.outputs}
    frontier, seen = [f.lot_id for f in step.inputs], set()
    while frontier:
        lot = frontier.pop()
        if lot in outputs:
            raise ValueError(f"step {step_id} would make lot {lot} its own ancestor")
        if lot in seen:
            continue
        seen.add(lot)
        frontier += [r["lot_id"] for r in db.rows(
            "SELECT i.lot_id FROM process_flows o JOIN process_flows i ON i.step_id = o.step_id AND i.direction = 'in' "
            "WHERE o.direction = 'out' AND o.lot_id = ? AND o.step_id <> ?", (lot, step_id))]


def raise_alarm(db: Database, scope: str, ref: str, detail: AlarmDetail) -> None:
    existing = db.one("SELECT id FROM balance_alarms WHERE scope = ? AND ref = ? AND cleared_at IS NULL", (scope, ref))
    if existing:
        db.execute("UPDATE balance_alarms SET detail = ?, raised_at = ? WHERE id = ?",
                   (dumps(detail), now_iso(), existing["id"]))
    else:
        db.execute("INSERT INTO balance_alarms (scope, ref, raised_at, detail) VALUES (?,?,?,?)",
                   (scope, ref, now_iso(), dumps(detail)))


def clear_alarm(db: Database, alarm_id: int) -> bool:
    with db.tx():
        changed = db.execute("UPDATE balance_alarms SET cleared_at = ? WHERE id = ? AND cleared_at IS NULL",
                         (now_iso(), alarm_id))
    return bool(changed)


def alarms(db: Database, include_cleared: bool = False) -> list[AlarmRow]:
    where = "" if include_cleared else "WHERE cleared_at IS NULL"
    return cast(list[AlarmRow], db.rows(f"SELECT * FROM balance_alarms {where} ORDER BY id", (), ("detail",)))


def get_step(db: Database, step_id: str) -> StepRow | None:
    return cast(StepRow | None, db.one("SELECT * FROM process_steps WHERE step_id = ?", (step_id,), ("doc",)))


def where_given(*conditions: tuple[str, object | None]) -> tuple[str, list[object]]:
    """A WHERE clause of the conditions whose value is given (not None), with those values: optional filters."""
    given = [(sql, value) for sql, value in conditions if value is not None]
    return " AND ".join(["1=1", *(sql for sql, _ in given)]), [value for _, value in given]


def list_steps(db: Database, since: str | None = None, until: str | None = None) -> list[StepRow]:
    """Steps that ended in [since, until) (either bound optional), in time order."""
    where, params = where_given(("ended_at >= ?", since or None), ("ended_at < ?", until or None))
    return cast(list[StepRow], db.rows(f"SELECT * FROM process_steps WHERE {where} ORDER BY ended_at, step_id",
                                       params, ("doc",)))


def period_balance(db: Database, start: datetime, end: datetime, tolerance: float = DEFAULT_TOLERANCE,
                   alarm: bool = True) -> PeriodBalance:
    """Balance of every step that ended in [start, end); a violation raises a 'period' alarm."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    steps = list_steps(db, start.isoformat(), end.isoformat())
    bal = balance(sum(s["input_mass_kg"] for s in steps), sum(s["output_mass_kg"] for s in steps),
                  sum(s["declared_loss_kg"] for s in steps), tolerance)
    failing = [s["step_id"] for s in steps if not s["balance_ok"]]
    ok = (bal["ok"] or not steps) and not failing
    if alarm and steps and not ok:
        with db.tx():
            raise_alarm(db, "period", f"{start.isoformat()}/{end.isoformat()}",
                        {"balance": bal, "failing_steps": failing})
    return {"start": start.isoformat(), "end": end.isoformat(), "n_steps": len(steps), "ok": ok,
            "balance": bal if steps else None, "failing_steps": failing}
