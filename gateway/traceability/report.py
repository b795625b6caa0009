"""Recycled-content report per manufacturer and product category over a balance period (mass balance).

Supplied = final output lots of the chosen step kinds (default ``regeneration``) that ended in the
period, allocated to source manufacturers/categories through lineage (post-consumer sources only,
scaled to output mass). Claimable = supplied - already claimed, and zero where a balance alarm blocks
the lot or the period. Periods longer than 3 months are refused; a claim never makes a balance negative.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from gateway.store.base import Store
from gateway.store.db import Database, now_iso
from gateway.traceability.lineage import backward, blocking_alarms
from gateway.traceability.repo import period_balance
from junkan.core.traceability import DEFAULT_TOLERANCE

MAX_PERIOD = timedelta(days=92)
COLUMNS = ("manufacturer", "category", "supplied_kg", "blocked_kg", "claimed_kg", "claimable_kg", "n_lots",
           "balance_ok")


class PeriodError(ValueError):
    pass


def check_period(start: datetime, end: datetime) -> None:
    if end <= start:
        raise PeriodError("period end must be after its start")
    if end - start > MAX_PERIOD:
        raise PeriodError(f"balance period {end - start} is longer than 3 months (ISCC-style mass balance)")


def supplied_lots(db: Database, start: datetime, end: datetime, kinds: tuple[str, ...]) -> list[dict[str, Any]]:
    marks = ",".join("?" * len(kinds))
    return db.rows(
        "SELECT f.lot_id, f.mass_kg, s.step_id, s.ended_at FROM process_flows f JOIN process_steps s "
        f"ON s.step_id = f.step_id WHERE f.direction = 'out' AND s.kind IN ({marks}) AND s.ended_at >= ? "
        "AND s.ended_at < ? AND NOT EXISTS (SELECT 1 FROM process_flows c WHERE c.direction = 'in' "
        "AND c.lot_id = f.lot_id) ORDER BY s.ended_at, f.lot_id",
        [*kinds, start.isoformat(), end.isoformat()])


def recycled_content(db: Database, store: Store | None, start: datetime, end: datetime,
                     kinds: tuple[str, ...] = ("regeneration",), tolerance: float = DEFAULT_TOLERANCE
                     ) -> dict[str, Any]:
    check_period(start, end)
    period = period_balance(db, start, end, tolerance)
    rows: dict[tuple[str, str], dict[str, Any]] = defaultdict(
        lambda: {"supplied_kg": 0.0, "blocked_kg": 0.0, "lots": set()})
    lots_out = []
    for lot in supplied_lots(db, start, end, kinds):
        lin = backward(db, lot["lot_id"], store)
        blocked = bool(blocking_alarms(db, lin)) or not period["ok"]
        total_in = lin["source_input_mass_kg"] or 0.0
        scale = lot["mass_kg"] / total_in if total_in else 0.0
        qualifying = {s["lot_id"] for s in lin["sources"] if s["consumer"] == "post_consumer"}
        for src in lin["sources"]:
            if src["lot_id"] not in qualifying:
                continue
            products = src["products"] or [{"manufacturer": None, "category": None,
                                             "attributed_kg": src["attributed_kg"]}]
            for p in products:
                key = (p.get("manufacturer") or "unknown", p.get("category") or "unknown")
                kg = p["attributed_kg"] * scale
                rows[key]["supplied_kg"] += kg
                rows[key]["blocked_kg"] += kg if blocked else 0.0
                rows[key]["lots"].add(lot["lot_id"])
        lots_out.append({"lot_id": lot["lot_id"], "mass_kg": lot["mass_kg"], "blocked": blocked})
    claims = db.rows("SELECT manufacturer, category, SUM(mass_kg) AS kg FROM rc_claims WHERE period_start = ? "
                     "AND period_end = ? GROUP BY manufacturer, category", (start.isoformat(), end.isoformat()))
    claimed = {(c["manufacturer"], c["category"]): float(c["kg"]) for c in claims}
    out = []
    for key in sorted(set(rows) | set(claimed)):
        r = rows[key]
        available = r["supplied_kg"] - r["blocked_kg"]
        balance = available - claimed.get(key, 0.0)
        out.append({"manufacturer": key[0], "category": key[1], "supplied_kg": round(r["supplied_kg"], 6),
                    "blocked_kg": round(r["blocked_kg"], 6), "claimed_kg": round(claimed.get(key, 0.0), 6),
                    "claimable_kg": round(max(balance, 0.0), 6), "n_lots": len(r["lots"]),
                    "balance_ok": balance >= -1e-9})
    return {"period": {"start": start.isoformat(), "end": end.isoformat()}, "period_balance": period,
            "rows": out, "lots": lots_out, "ok": period["ok"] and all(r["balance_ok"] for r in out)}


def to_csv(report: dict[str, Any]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["period_start", "period_end", *COLUMNS], lineterminator="\n")
    writer.writeheader()
    for row in report["rows"]:
        writer.writerow({"period_start": report["period"]["start"], "period_end": report["period"]["end"],
                         **{k: row[k] for k in COLUMNS}})
    return buf.getvalue()


def record_claim(db: Database, store: Store | None, manufacturer: str, category: str, start: datetime, end: datetime,
                 mass_kg: float, reference: str | None = None) -> dict[str, Any]:
    """Book a claim against the period's balance; refused if it would make the balance negative."""
    if mass_kg <= 0:
        raise PeriodError("claimed mass must be positive")
    report = recycled_content(db, store, start, end)
    row = next((r for r in report["rows"] if (r["manufacturer"], r["category"]) == (manufacturer, category)), None)
    available = row["claimable_kg"] if row else 0.0
    if mass_kg > available + 1e-9:
        raise PeriodError(f"claim {mass_kg:.3f} kg exceeds the claimable {available:.3f} kg for "
                          f"{manufacturer}/{category} in this period (no negative balance)")
    with db.tx():
        db.execute("INSERT INTO rc_claims (manufacturer, category, period_start, period_end, mass_kg, reference, "
                   "claimed_at) VALUES (?,?,?,?,?,?,?)",
                   (manufacturer, category, start.isoformat(), end.isoformat(), mass_kg, reference, now_iso()))
    return {"manufacturer": manufacturer, "category": category, "mass_kg": mass_kg,
            "remaining_kg": round(available - mass_kg, 6)}
