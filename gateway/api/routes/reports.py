"""Recycled-content reports for the revised 資源法: the recycler's supply side and the manufacturer's use side
(use records, their report), for a Japanese fiscal year or any period."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query, Response

from gateway.api.deps import StoreDep, Timestamp
from gateway.api.models import Error
from gateway.traceability.report import PeriodError, RecycledContent, fiscal_year, recycled_content, to_csv
from gateway.traceability.rows import UseRecordRow
from gateway.traceability.use import RecycledUse, UseRecorded, UseRepo
from junkan.core.traceability import RecycledUseIn

router = APIRouter(prefix="/api/v1/process", tags=["process"])
# Response models: the reports' TypedDicts (gateway/traceability/report.py, use.py), one description of each.


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


@router.get("/uses", summary="Use records in a period (by use time)", response_model=list[UseRecordRow])
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
