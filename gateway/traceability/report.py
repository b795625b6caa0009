"""Recycled-content report per manufacturer and product category over any period (mass balance).

Supplied = final (not consumed by another step) output lots with role ``product`` that ended in the
period — of any step kind unless ``kinds`` narrows it — allocated to source manufacturers/categories
through lineage (post-consumer sources only, scaled to output mass). Rejects, residues and losses are
never supplied material (they were: 679.8 kg of sorter rejects made a 2.14x over-claim). Outputs recorded
before roles existed count as before but are reported as ``role unknown`` and make the report not ok.
Claimable = supplied - already claimed, and zero where a balance alarm blocks the lot or the period, or the
lot is POPs-suspect (``gateway/specs/screening.py``) without a passing lab confirmation (``pops_suspect``). A
claim never makes a balance negative. A fiscal year is April-March in Japan time (資源法 年度); any
period works, lots are read page by page, and an empty report says why.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, cast
from zoneinfo import ZoneInfo

from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict

from gateway.evidence.build import lot_screenings
from gateway.store.base import Store
from gateway.store.db import Database, now_iso
from gateway.traceability.graph import open_alarms
from gateway.traceability.lineage import LineageError, alarms_blocking, lineages
from gateway.traceability.repo import PeriodBalance, period_balance
from gateway.traceability.rows import AlarmRow, SuppliedFlow
from junkan.core.evidence import Lineage
from junkan.core.traceability import DEFAULT_TOLERANCE

if TYPE_CHECKING:
    from gateway.traceability.use import RecycledUse

JST = ZoneInfo("Asia/Tokyo")
PAGE = 500
COLUMNS = ("manufacturer", "category", "supplied_kg", "blocked_kg", "claimed_kg", "claimable_kg",
           "role_unknown_kg", "n_lots", "balance_ok")
LOT_COLUMNS = ("lot_id", "mass_kg", "role", "step_id", "kind", "ended_at", "blocked", "post_consumer_kg",
               "screening")


SCREENING_BLOCKS = ("pops_suspect", "lab_failed")  # Evidence.screening states whose lots claim nothing


class PeriodError(ValueError):
    pass


_OUT = ConfigDict(extra="forbid")


@with_config(_OUT)
class Period(TypedDict):
    start: str
    end: str


@with_config(_OUT)
class ContentRow(TypedDict):
    """Recycled plastic supplied and claimable for one (manufacturer, category) in the period."""

    manufacturer: str
    category: str
    supplied_kg: Annotated[float, Field(description="Post-consumer recycled plastic in final product lots (kg).")]
    blocked_kg: Annotated[float, Field(description="Of it, behind an uncleared balance alarm or in a POPs-suspect "
                                       "lot without a passing lab confirmation.")]
    claimed_kg: float
    claimable_kg: float
    role_unknown_kg: Annotated[float, Field(
        description="Of it, from outputs recorded without a role (counted as product).")]
    n_lots: int
    balance_ok: bool


@with_config(_OUT)
class SuppliedLot(TypedDict):
    """A supplied lot: a final product output of a step that ended in the period."""

    lot_id: str
    mass_kg: float
    role: Annotated[str, Field(description="product, or unknown for outputs recorded before roles.")]
    step_id: str
    kind: str
    ended_at: str
    blocked: bool
    post_consumer_kg: float
    screening: Annotated[str, Field(description="The lot's BFR screening: clear, pops_suspect, lab_confirmed, "
                                    "lab_failed (pops_suspect and lab_failed lots are blocked).")]


@with_config(_OUT)
class Totals(TypedDict):
    supplied_lot_mass_kg: Annotated[float, Field(description="Mass of the supplied (final product) lots.")]
    supplied_kg: Annotated[float, Field(description="Sum of the rows' supplied_kg (post-consumer share of those "
                                        "lots).")]
    not_supplied_kg: Annotated[dict[str, float], Field(description="Final outputs that are not products, kg by "
                                                       "role.")]


@with_config(_OUT)
class RecycledContent(TypedDict):
    """Recycled plastic supplied and claimable per manufacturer and product category in a period."""

    period: Period
    period_balance: PeriodBalance
    kinds: Annotated[list[str] | None, Field(description="Step kinds counted; null for every kind.")]
    rows: list[ContentRow]
    totals: Totals
    lots: Annotated[list[SuppliedLot], Field(description="One page of the supplied lots (lots_offset, lots_limit).")]
    lots_total: int
    lots_offset: int
    lots_limit: int | None
    warnings: list[str]
    empty_reason: Annotated[str | None, Field(description="Why no lot was supplied; null when some was.")]
    ok: bool


@with_config(_OUT)
class Claimed(TypedDict):
    manufacturer: str
    category: str
    mass_kg: float
    remaining_kg: float


@dataclass
class _Tally:
    """One (manufacturer, category) while the supplied lots are folded in."""

    supplied_kg: float = 0.0
    blocked_kg: float = 0.0
    role_unknown_kg: float = 0.0
    lots: set[str] = field(default_factory=set)


def check_period(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The period in UTC (steps' times are stored as UTC text, so text order is time order)."""
    if start.tzinfo is None or end.tzinfo is None:
        raise PeriodError("period start and end need a time zone")
    if end <= start:
        raise PeriodError("period end must be after its start")
    return start.astimezone(UTC), end.astimezone(UTC)


def fiscal_year(year: int, tz: ZoneInfo = JST) -> tuple[datetime, datetime]:
    """Japanese fiscal year ``year`` (年度): 1 April ``year`` 00:00 to 1 April ``year + 1``, Japan time."""
    if not 2000 <= year <= 2200:
        raise PeriodError(f"fiscal year {year} is out of range")
    return datetime(year, 4, 1, tzinfo=tz), datetime(year + 1, 4, 1, tzinfo=tz)


def _kind_filter(kinds: tuple[str, ...] | None) -> tuple[str, list[str]]:
    if not kinds:
        return "", []
    return f" AND s.kind IN ({','.join('?' * len(kinds))})", list(kinds)


_TERMINAL = ("FROM process_flows f JOIN process_steps s ON s.step_id = f.step_id WHERE f.direction = 'out' "
             "AND s.ended_at >= ? AND s.ended_at < ? AND NOT EXISTS (SELECT 1 FROM process_flows c "
             "WHERE c.direction = 'in' AND c.lot_id = f.lot_id)")


def supplied_lots(db: Database, start: datetime, end: datetime, kinds: tuple[str, ...] | None = None,
                  page: int = PAGE) -> Iterator[SuppliedFlow]:
    """Final product outputs (role product or unknown) of steps that ended in [start, end), page by page."""
    kind_sql, kind_args = _kind_filter(kinds)
    after: tuple[str, str, str] = ("", "", "")
    while True:
        rows = cast(list[SuppliedFlow], db.rows(
            "SELECT f.lot_id, f.mass_kg, f.role, s.step_id, s.kind, s.ended_at " + _TERMINAL + kind_sql +
            " AND (f.role IS NULL OR f.role = 'product') AND (s.ended_at > ? OR (s.ended_at = ? AND "
            "(f.lot_id > ? OR (f.lot_id = ? AND s.step_id > ?)))) ORDER BY s.ended_at, f.lot_id, s.step_id LIMIT ?",
            [start.isoformat(), end.isoformat(), *kind_args, after[0], after[0], after[1], after[1], after[2], page]))
        yield from rows
        if len(rows) < page:
            return
        last = rows[-1]
        after = (last["ended_at"], last["lot_id"], last["step_id"])


def not_supplied(db: Database, start: datetime, end: datetime, kinds: tuple[str, ...] | None = None
                 ) -> dict[str, float]:
    """Mass of the final outputs in the period that are not supplied material, by role."""
    kind_sql, kind_args = _kind_filter(kinds)
    rows = db.rows("SELECT f.role, SUM(f.mass_kg) AS kg " + _TERMINAL + kind_sql +
                   " AND f.role IS NOT NULL AND f.role <> 'product' GROUP BY f.role",
                   [start.isoformat(), end.isoformat(), *kind_args])
    return {r["role"]: round(float(r["kg"]), 6) for r in rows}


def why_empty(db: Database, start: datetime, end: datetime, kinds: tuple[str, ...] | None) -> str:
    """Why no lot was supplied in the period, in words an operator can act on."""
    steps = db.rows("SELECT kind, COUNT(*) AS n FROM process_steps WHERE ended_at >= ? AND ended_at < ? "
                    "GROUP BY kind ORDER BY kind", (start.isoformat(), end.isoformat()))
    period = f"{start.isoformat()} .. {end.isoformat()}"
    if not steps:
        return f"no process step ended in {period}: record intake and steps (junkan gateway process) first"
    seen = ", ".join(f"{s['kind']} x{s['n']}" for s in steps)
    if kinds and not {s["kind"] for s in steps} & set(kinds):
        return f"no step of kind {', '.join(kinds)} ended in {period} (steps there: {seen}); use --kinds or omit it"
    other = not_supplied(db, start, end, kinds)
    if other:
        roles = ", ".join(f"{role} {kg:.1f} kg" for role, kg in sorted(other.items()))
        return (f"the final outputs of the steps in {period} ({seen}) are not products ({roles}); "
                "only outputs with role product are supplied recycled plastic")
    return f"every output of the steps in {period} ({seen}) is consumed by a later step: no final product lot"


def recycled_content(db: Database, store: Store | None, start: datetime, end: datetime,
                     kinds: tuple[str, ...] | None = None, tolerance: float = DEFAULT_TOLERANCE,
                     lots_offset: int = 0, lots_limit: int | None = None) -> RecycledContent:
    """The report; ``lots`` holds the page [lots_offset, lots_offset + lots_limit) of the supplied lots."""
    start, end = check_period(start, end)
    period = period_balance(db, start, end, tolerance)
    rows: dict[tuple[str, str], _Tally] = defaultdict(_Tally)
    lots_out: list[SuppliedLot] = []
    n_lots, supplied_mass, unknown_lots, suspect_lots = 0, 0.0, 0, []
    for lot, contributions in lot_contributions(db, store, start, end, kinds, period["ok"]):
        if lot["role"] == "unknown":
            unknown_lots += 1
        if lot["screening"] in SCREENING_BLOCKS:
            suspect_lots.append(lot["lot_id"])
        if n_lots >= lots_offset and (lots_limit is None or len(lots_out) < lots_limit):
            lots_out.append(lot)
        n_lots += 1
        supplied_mass += lot["mass_kg"]
        for key, kg in contributions.items():
            r = rows[key]
            r.supplied_kg += kg
            r.blocked_kg += kg if lot["blocked"] else 0.0
            r.role_unknown_kg += kg if lot["role"] == "unknown" else 0.0
            r.lots.add(lot["lot_id"])
    claims = db.rows("SELECT manufacturer, category, SUM(mass_kg) AS kg FROM rc_claims WHERE period_start = ? "
                     "AND period_end = ? GROUP BY manufacturer, category", (start.isoformat(), end.isoformat()))
    claimed = {(c["manufacturer"], c["category"]): float(c["kg"]) for c in claims}
    out: list[ContentRow] = []
    for key in sorted(set(rows) | set(claimed)):
        r = rows[key]
        available = r.supplied_kg - r.blocked_kg
        balance = available - claimed.get(key, 0.0)
        out.append({"manufacturer": key[0], "category": key[1], "supplied_kg": round(r.supplied_kg, 6),
                    "blocked_kg": round(r.blocked_kg, 6), "claimed_kg": round(claimed.get(key, 0.0), 6),
                    "claimable_kg": round(max(balance, 0.0), 6), "role_unknown_kg": round(r.role_unknown_kg, 6),
                    "n_lots": len(r.lots), "balance_ok": balance >= -1e-9})
    warnings = []
    if unknown_lots:
        warnings.append(f"{unknown_lots} supplied lot(s) were recorded without an output role (before roles "
                        "existed): counted as product as before; record the steps again with roles to be sure "
                        "no reject or residue is counted")
    if suspect_lots:
        more = " ..." if len(suspect_lots) > 10 else ""
        warnings.append(f"{len(suspect_lots)} supplied lot(s) are POPs-suspect without a passing lab confirmation "
                        f"(GC-MS, IEC 62321-6): {', '.join(suspect_lots[:10])}{more}; their mass is blocked, "
                        "not claimable")
    empty = None if n_lots else why_empty(db, start, end, kinds)
    return {"period": {"start": start.isoformat(), "end": end.isoformat()}, "period_balance": period,
            "kinds": list(kinds) if kinds else None, "rows": out,
            "totals": {"supplied_lot_mass_kg": round(supplied_mass, 6),
                       "supplied_kg": round(sum(r["supplied_kg"] for r in out), 6),
                       "not_supplied_kg": not_supplied(db, start, end, kinds)},
            "lots": lots_out, "lots_total": n_lots, "lots_offset": lots_offset, "lots_limit": lots_limit,
            "warnings": warnings, "empty_reason": empty,
            "ok": empty is None and not unknown_lots and period["ok"] and all(r["balance_ok"] for r in out)}


def lot_contributions(db: Database, store: Store | None, start: datetime, end: datetime,
                      kinds: tuple[str, ...] | None, period_ok: bool = True
                      ) -> Iterator[tuple[SuppliedLot, dict[tuple[str, str], float]]]:
    """Per supplied lot: its row and the kg it supplies per (manufacturer, category), streamed (the open
    alarms are read once, when the first lot is asked for)."""
    alarms = open_alarms(db)
    for page in _pages(supplied_lots(db, start, end, kinds)):
        walked = lineages(db, [lot["lot_id"] for lot in page], store)  # one load per page, not per lot
        found = {lot_id: lin for lot_id, lin in walked.items() if not isinstance(lin, LineageError)}
        screened = lot_screenings(db, found, datetime.now(UTC).date())
        for lot in page:
            lin = _found(walked[lot["lot_id"]])
            yield _contribution(lot, lin, screened[lot["lot_id"]].status, alarms, period_ok)


def _pages(lots: Iterator[SuppliedFlow], size: int = PAGE) -> Iterator[list[SuppliedFlow]]:
    page: list[SuppliedFlow] = []
    for lot in lots:
        page.append(lot)
        if len(page) == size:
            yield page
            page = []
    if page:
        yield page


def _found(lineage: Lineage | LineageError) -> Lineage:
    if isinstance(lineage, LineageError):
        raise lineage
    return lineage


def _contribution(lot: SuppliedFlow, lin: Lineage, screening: str, alarms: Sequence[AlarmRow], period_ok: bool
                  ) -> tuple[SuppliedLot, dict[tuple[str, str], float]]:
    """Pure: one supplied lot's row and the kg it supplies per (manufacturer, category)."""
    blocked = bool(alarms_blocking(alarms, lin)) or not period_ok or screening in SCREENING_BLOCKS
    total_in = lin.source_input_mass_kg or 0.0
    scale = lot["mass_kg"] / total_in if total_in else 0.0
    shares: dict[tuple[str, str], float] = defaultdict(float)
    for src in lin.sources:
        if src.consumer != "post_consumer":
            continue
        products = [(p.manufacturer, p.category, p.attributed_kg) for p in src.products] or [
            (None, None, src.attributed_kg)]
        for manufacturer, category, kg in products:
            shares[(manufacturer or "unknown", category or "unknown")] += kg * scale
    row: SuppliedLot = {"lot_id": lot["lot_id"], "mass_kg": lot["mass_kg"], "role": lot["role"] or "unknown",
           "step_id": lot["step_id"], "kind": lot["kind"], "ended_at": lot["ended_at"], "blocked": blocked,
           "post_consumer_kg": round(sum(shares.values()), 6), "screening": screening}
    return row, dict(shares)


def to_csv(report: RecycledContent) -> str:
    return rows_csv(report, COLUMNS)


def rows_csv(report: RecycledContent | RecycledUse, columns: tuple[str, ...]) -> str:
    """A report's rows as CSV with the period on every row (a spreadsheet keeps it after filtering)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["period_start", "period_end", *columns], lineterminator="\n")
    writer.writeheader()
    rows: Sequence[Mapping[str, object]] = report["rows"]
    for row in rows:
        writer.writerow({"period_start": report["period"]["start"], "period_end": report["period"]["end"],
                         **{k: row[k] for k in columns}})
    return buf.getvalue()


def lots_csv(db: Database, store: Store | None, start: datetime, end: datetime,
             kinds: tuple[str, ...] | None = None) -> Iterator[str]:
    """The supplied lots as CSV lines, produced one lot at a time (a year of lots never sits in memory)."""
    start, end = check_period(start, end)
    head = io.StringIO()
    csv.writer(head, lineterminator="\n").writerow(LOT_COLUMNS)
    yield head.getvalue()
    for lot, _ in lot_contributions(db, store, start, end, kinds):
        line = io.StringIO()
        cells: Mapping[str, object] = lot
        csv.writer(line, lineterminator="\n").writerow([cells[k] for k in LOT_COLUMNS])
        yield line.getvalue()


def record_claim(db: Database, store: Store | None, manufacturer: str, category: str, start: datetime, end: datetime,
                 mass_kg: float, reference: str | None = None) -> Claimed:
    """Book a claim against the period's balance; refused if it would make the balance negative."""
    if mass_kg <= 0:
        raise PeriodError("claimed mass must be positive")
    start, end = check_period(start, end)
    report = recycled_content(db, store, start, end, lots_limit=0)
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
