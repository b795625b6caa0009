"""Process graph: intake lots, transformation steps, mass balance, alarms, lineage, recycled-content claims."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from gateway.api.deps import StoreDep
from gateway.composition.ident_repo import match_pending
from gateway.traceability import repo
from gateway.traceability.lineage import LineageError, backward, forward_model
from gateway.traceability.report import PeriodError, record_claim, recycled_content, to_csv
from junkan.core.traceability import IntakeIn, StepIn

router = APIRouter(prefix="/api/v1/process", tags=["process"])


class ClaimIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    manufacturer: str = Field(min_length=1, max_length=256, description="Manufacturer the claim is for.")
    category: str = Field(min_length=1, max_length=128, description="Product category.")
    period_start: datetime = Field(description="Balance period start.")
    period_end: datetime = Field(description="Balance period end (exclusive, <= 3 months).")
    mass_kg: float = Field(gt=0, le=1e9, allow_inf_nan=False, description="Recycled plastic claimed (kg).")
    reference: str | None = Field(default=None, max_length=256, description="Order / certificate reference.")


@router.post("/steps", status_code=201, summary="Record (or replace) a transformation step; balance checked")
def post_step(step: StepIn, store: StoreDep) -> dict[str, Any]:
    try:
        return repo.record_step(store.db, step)
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc


@router.get("/steps", summary="Steps that ended in a period")
def get_steps(store: StoreDep, since: datetime | None = None, until: datetime | None = None) -> list[dict[str, Any]]:
    return repo.list_steps(store.db, since.isoformat() if since else None, until.isoformat() if until else None)


@router.get("/steps/{step_id}", summary="One step")
def get_step(step_id: str, store: StoreDep) -> dict[str, Any]:
    row = repo.get_step(store.db, step_id)
    if row is None:
        raise HTTPException(status_code=404, detail=f"step {step_id!r} not found")
    return row


@router.post("/intake", status_code=201, summary="Record (or replace) an intake lot with its products")
def post_intake(intake: IntakeIn, store: StoreDep) -> dict[str, Any]:
    return repo.record_intake(store.db, intake, store)


@router.get("/balance", summary="Mass balance of every step in a period (violation raises an alarm)")
def get_balance(store: StoreDep, start: datetime, end: datetime,
                tolerance: float = Query(default=0.02, ge=0, le=0.5)) -> dict[str, Any]:
    return repo.period_balance(store.db, start, end, tolerance)


@router.get("/alarms", summary="Mass-balance alarms (uncleared ones block claims)")
def get_alarms(store: StoreDep, include_cleared: bool = False) -> list[dict[str, Any]]:
    return repo.alarms(store.db, include_cleared)


@router.post("/alarms/{alarm_id}/clear", summary="Clear an alarm after investigation")
def clear(alarm_id: Annotated[int, Path(ge=1, le=2**63 - 1)], store: StoreDep) -> dict[str, Any]:
    if not repo.clear_alarm(store.db, alarm_id):
        raise HTTPException(status_code=404, detail=f"no open alarm {alarm_id}")
    return {"cleared": alarm_id}


@router.get("/lineage/lots/{lot_id}", summary="Source lots, products, models and plants of a lot, with masses")
def lineage_lot(lot_id: str, store: StoreDep) -> dict[str, Any]:
    db = store.db
    match_pending(db, store)
    try:
        return backward(db, lot_id, store)
    except LineageError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc


@router.get("/lineage/models/{model}", summary="Output lots that contain a product model")
def lineage_model(model: str, store: StoreDep, all_lots: bool = False) -> dict[str, Any]:
    db = store.db
    match_pending(db, store)
    return forward_model(db, model, store, terminal_only=not all_lots)


@router.get("/reports/recycled-content", summary="Recycled plastic supplied / claimable per manufacturer, category")
def report(store: StoreDep, start: datetime, end: datetime, format: Literal["json", "csv"] = "json",
           kinds: str = Query(default="regeneration", max_length=200)) -> Any:
    try:
        result = recycled_content(store.db, store, start, end, tuple(k for k in kinds.split(",") if k))
    except PeriodError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    return Response(to_csv(result), media_type="text/csv") if format == "csv" else result


@router.post("/claims", status_code=201, summary="Book a recycled-content claim (never below a zero balance)")
def post_claim(claim: ClaimIn, store: StoreDep) -> dict[str, Any]:
    try:
        return record_claim(store.db, store, claim.manufacturer, claim.category, claim.period_start,
                            claim.period_end, claim.mass_kg, claim.reference)
    except PeriodError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc
