"""Process graph: intake lots, transformation steps, mass balance, alarms, lineage, recycled-content claims."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, Field

from gateway.api.deps import StoreDep, Timestamp
from gateway.api.models import Error, Json, Out
from gateway.composition.ident_repo import match_pending
from gateway.traceability import repo
from gateway.traceability.lineage import LineageError, backward, forward_model
from gateway.traceability.report import PeriodError, record_claim
from junkan.core.evidence import Lineage
from junkan.core.strict import STRICT, IsoDatetime
from junkan.core.traceability import IntakeIn, StepIn

router = APIRouter(prefix="/api/v1/process", tags=["process"])


class BalanceOut(Out):
    input_kg: float
    output_kg: float
    declared_loss_kg: float
    unaccounted_kg: float = Field(description="input - output - declared losses.")
    tolerance: float = Field(description="Share of the input allowed to be unaccounted.")
    ok: bool
    reason: str | None


class StepRecorded(Out):
    step_id: str
    balance: BalanceOut


class Step(Out):
    step_id: str
    kind: str
    site: str | None
    plant: str | None
    started_at: str
    ended_at: str
    input_mass_kg: float
    output_mass_kg: float
    declared_loss_kg: float
    unaccounted_kg: float
    tolerance: float
    balance_ok: int = Field(description="1 when the step's balance held, else 0.")
    doc: Json = Field(description="The step as recorded.")
    recorded_at: str


class IntakeRecorded(Out):
    lot_id: str
    net_mass_kg: float | None
    products: int = Field(description="Product lines recorded.")


class PeriodBalance(Out):
    start: str
    end: str
    n_steps: int
    ok: bool
    balance: BalanceOut | None = Field(description="Null when no step ended in the period.")
    failing_steps: list[str]


class Alarm(Out):
    id: int
    scope: str = Field(description="step or period.")
    ref: str = Field(description="Step id, or 'start/end' of the period.")
    raised_at: str
    detail: Json
    cleared_at: str | None


class Cleared(Out):
    cleared: int


class OutputLot(Out):
    lot_id: str
    lot_mass_kg: float
    model_attributed_kg: float
    model_share: float | None
    terminal: bool = Field(description="No step consumed the lot (yet).")


class ModelLineage(Out):
    model: str
    intake_lots: list[str]
    output_lots: list[OutputLot]


class Claimed(Out):
    manufacturer: str
    category: str
    mass_kg: float
    remaining_kg: float


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


@router.get("/steps", summary="Steps that ended in a period", response_model=list[Step])
def get_steps(store: StoreDep, since: Timestamp | None = None, until: Timestamp | None = None) -> Any:
    return repo.list_steps(store.db, since.isoformat() if since else None, until.isoformat() if until else None)


@router.get("/steps/{step_id}", summary="One step", response_model=Step)
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


@router.get("/alarms", summary="Mass-balance alarms (uncleared ones block claims)", response_model=list[Alarm])
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
