"""Recycled-content reports for the revised 資源法: the recycler's supply side and the manufacturer's use side
(use records, their report), for a Japanese fiscal year or any period."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query, Response
from pydantic import Field

from gateway.api.deps import StoreDep, Timestamp
from gateway.api.models import Error, Json, Out
from gateway.api.routes.process import PeriodBalance
from gateway.traceability.report import PeriodError, fiscal_year, recycled_content, to_csv
from gateway.traceability.use import UseRepo
from junkan.core.traceability import RecycledUseIn

router = APIRouter(prefix="/api/v1/process", tags=["process"])


class Period(Out):
    start: str
    end: str


class ContentRow(Out):
    manufacturer: str
    category: str
    supplied_kg: float = Field(description="Post-consumer recycled plastic in final product lots (kg).")
    blocked_kg: float = Field(description="Of it, behind an uncleared balance alarm or in a POPs-suspect lot "
                              "without a passing lab confirmation.")
    claimed_kg: float
    claimable_kg: float
    role_unknown_kg: float = Field(description="Of it, from outputs recorded without a role (counted as product).")
    n_lots: int
    balance_ok: bool


class SuppliedLot(Out):
    lot_id: str
    mass_kg: float
    role: str = Field(description="product, or unknown for outputs recorded before roles.")
    step_id: str
    kind: str
    ended_at: str
    blocked: bool
    post_consumer_kg: float
    screening: str = Field(default="clear", description="The lot's BFR screening: clear, pops_suspect, "
                           "lab_confirmed, lab_failed (pops_suspect and lab_failed lots are blocked).")


class Totals(Out):
    supplied_lot_mass_kg: float = Field(description="Mass of the supplied (final product) lots.")
    supplied_kg: float = Field(description="Sum of the rows' supplied_kg (post-consumer share of those lots).")
    not_supplied_kg: dict[str, float] = Field(description="Final outputs that are not products, kg by role.")


class RecycledContent(Out):
    period: Period
    period_balance: PeriodBalance
    kinds: list[str] | None = Field(description="Step kinds counted; null for every kind.")
    rows: list[ContentRow]
    totals: Totals
    lots: list[SuppliedLot] = Field(description="One page of the supplied lots (lots_offset, lots_limit).")
    lots_total: int
    lots_offset: int
    lots_limit: int | None
    warnings: list[str]
    empty_reason: str | None = Field(description="Why no lot was supplied; null when some was.")
    ok: bool


class UseRecorded(Out):
    use_id: str
    lot: Json = Field(description="What this gateway knows of the lot (traced, content shares, blocked).")


class UseRow(Out):
    manufacturer: str
    category: str
    received_kg: float
    used_kg: float
    used_post_consumer_kg: float
    used_pre_consumer_kg: float
    used_untraced_kg: float = Field(description="Used from lots not recorded here as final product outputs.")
    used_blocked_kg: float
    n_lots: int


class RecycledUse(Out):
    period: Period
    manufacturer: str | None
    rows: list[UseRow]
    lots: list[Json]
    over_received: list[Json] = Field(description="Lots received beyond their recorded mass (all manufacturers).")
    empty_reason: str | None
    ok: bool


def _period(start: datetime | None, end: datetime | None, year: int | None) -> tuple[datetime, datetime]:
    try:
        if year is not None:
            if start or end:
                raise PeriodError("give fiscal_year or start/end, not both")
            return fiscal_year(year)
        if start is None or end is None:
            raise PeriodError("give fiscal_year, or both start and end")
        return start, end
    except PeriodError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc


@router.get("/reports/recycled-content", summary="Recycled plastic supplied / claimable per manufacturer, category",
            response_model=RecycledContent,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                             "description": "JSON, or CSV with format=csv."}})
def report(store: StoreDep, start: Timestamp | None = None, end: Timestamp | None = None,
           fiscal_year: int | None = Query(default=None, ge=2000, le=2200, description="April-March, JST."),
           format: Literal["json", "csv"] = "json",
           kinds: str = Query(default="", max_length=200, description="Only these step kinds; default all."),
           lots_offset: int = Query(default=0, ge=0, le=10**9), lots_limit: int = Query(default=100, ge=0, le=10_000)
           ) -> Any:
    period = _period(start, end, fiscal_year)
    try:
        result = recycled_content(store.db, store, *period, tuple(k for k in kinds.split(",") if k) or None,
                                  lots_offset=lots_offset, lots_limit=lots_limit)
    except PeriodError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    return Response(to_csv(result), media_type="text/csv") if format == "csv" else result


@router.post("/uses", status_code=201, summary="Record (or replace) a manufacturer's use of a recycled lot",
             response_model=UseRecorded)
def post_use(use: RecycledUseIn, store: StoreDep) -> Any:
    return UseRepo(store.db, store).record(use)


@router.get("/uses", summary="Use records in a period (by use time)", response_model=list[Json])
def get_uses(store: StoreDep, start: Timestamp | None = None, end: Timestamp | None = None,
             manufacturer: str | None = Query(default=None, max_length=256),
             limit: int = Query(default=1000, ge=1, le=10_000), offset: int = Query(default=0, ge=0, le=10**9)) -> Any:
    return UseRepo(store.db, store).find(start, end, manufacturer, limit, offset)


@router.get("/reports/recycled-use", summary="Recycled plastic received and used per manufacturer, category",
            response_model=RecycledUse, responses={422: {"model": Error, "description": "Bad period."}})
def use_report(store: StoreDep, start: Timestamp | None = None, end: Timestamp | None = None,
               fiscal_year: int | None = Query(default=None, ge=2000, le=2200, description="April-March, JST."),
               manufacturer: str | None = Query(default=None, max_length=256)) -> Any:
    period = _period(start, end, fiscal_year)
    try:
        return UseRepo(store.db, store).report(*period, manufacturer)
    except PeriodError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
