"""Process graph: intake lots, transformation steps, mass balance, alarms, lineage, recycled-content claims."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, Field

from gateway.api.deps import StoreDep, Timestamp
from gateway.api.models import Error, Out
from gateway.composition.ident_repo import match_pending
from gateway.traceability import repo
from gateway.traceability.lineage import LineageError, ModelLineage, backward, forward_model
from gateway.traceability.repo import IntakeRecorded, PeriodBalance, StepRecorded
from gateway.traceability.report import Claimed, PeriodError, record_claim
from gateway.traceability.rows import AlarmRow, StepRow
from junkan.core.evidence import Lineage
from junkan.core.strict import STRICT, IsoDatetime
from junkan.core.traceability import IntakeIn, StepIn

router = APIRouter(prefix="/api/v1/process", tags=["process"])


# The response models of the rest are the traceability functions' TypedDicts (one description of each shape).
class Cleared(Out):
    cleared: int


class ClaimIn(BaseModel):
    model_config = STRICT

    manufacturer: str = Field(min_length=1, max_length=256, description="Manufacturer the claim is for.")
    category: str = Field(min_length=1, max_length=128, description="Product category.")
    period_start: IsoDatetime = Field(description="Balance period start.")
    period_end: IsoDatetime = Field(description="Balance period end (exclusive).")
    mass_kg: float = Field(gt=0, le=1e9, allow_inf_nan=False, description="Recycled plastic claimed (kg).")
    reference: str | None = Field(default=None, max_length=256, description="Order / certificate reference.")


@router.post("/steps", status_code=201, summary="Record (or replace) a transformation step; balance checked",
             response_model=StepRecorded)
def post_step(step: StepIn, store: StoreDep) -> Any:
    try:
        return repo.record_step(store.db, step)
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc


@router.get("/steps", summary="Steps that ended in a period", response_model=list[StepRow])
def get_steps(store: StoreDep, since: Timestamp | None = None, until: Timestamp | None = None) -> Any:
    return repo.list_steps(store.db, since.isoformat() if since else None, until.isoformat() if until else None)


@router.get("/steps/{step_id}", summary="One step", response_model=StepRow)
def get_step(step_id: str, store: StoreDep) -> Any:
    row = repo.get_step(store.db, step_id)
    if row is None:
        raise HTTPException(status_code=404, detail=f"step {step_id!r} not found")
    return row


@router.post("/intake", status_code=201, summary="Record (or replace) an intake lot with its products",
             response_model=IntakeRecorded)
def post_intake(intake: IntakeIn, store: StoreDep) -> Any:
    return repo.record_intake(store.db, intake, store)


@router.get("/balance", summary="Mass balance of every step in a period (violation raises an alarm)",
            response_model=PeriodBalance)
def get_balance(store: StoreDep, start: Timestamp, end: Timestamp,
                tolerance: float = Query(default=0.02, ge=0, le=0.5)) -> Any:
    return repo.period_balance(store.db, start, end, tolerance)


@router.get("/alarms", summary="Mass-balance alarms (uncleared ones block claims)", response_model=list[AlarmRow])
def get_alarms(store: StoreDep, include_cleared: bool = False) -> Any:
    return repo.alarms(store.db, include_cleared)


@router.post("/alarms/{alarm_id}/clear", summary="Clear an alarm after investigation")
def clear(alarm_id: Annotated[int, Path(ge=1, le=2**63 - 1)], store: StoreDep) -> Cleared:
    if not repo.clear_alarm(store.db, alarm_id):
        raise HTTPException(status_code=404, detail=f"no open alarm {alarm_id}")
    return Cleared(cleared=alarm_id)


@router.get("/lineage/lots/{lot_id}", summary="Source lots, products, models and plants of a lot, with masses",
            response_model=Lineage)
def lineage_lot(lot_id: str, store: StoreDep) -> Any:
    db = store.db
    match_pending(db, store)
    try:
        return backward(db, lot_id, store)
    except LineageError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc


@router.get("/lineage/models/{model}", summary="Output lots that contain a product model",
            response_model=ModelLineage)
def lineage_model(model: str, store: StoreDep, all_lots: bool = False) -> Any:
    db = store.db
    match_pending(db, store)
    return forward_model(db, model, store, terminal_only=not all_lots)


@router.post("/claims", status_code=201, summary="Book a recycled-content claim (never below a zero balance)",
             response_model=Claimed,
             responses={409: {"model": Error, "description": "The claim exceeds what is claimable."}})
def post_claim(claim: ClaimIn, store: StoreDep) -> Any:
    try:
        return record_claim(store.db, store, claim.manufacturer, claim.category, claim.period_start,
                            claim.period_end, claim.mass_kg, claim.reference)
    except PeriodError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc
