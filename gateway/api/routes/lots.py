"""Lots: list, search, one lot with its readings."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field

from gateway.api.deps import MAX_OFFSET, StoreDep
from gateway.api.models import Lot, LotWithWeighings, Reading, RecyclerAssigned
from gateway.auth import PrincipalDep
from gateway.store.rows import LotRow, ReadingRow
from junkan.core.names import NAME_PATTERN
from junkan.core.strict import STRICT

router = APIRouter(prefix="/api/v1/lots", tags=["lots"])


@router.get("", summary="List lots, newest first", response_model=list[Lot])
def list_lots(
    store: StoreDep,
    principal: PrincipalDep,
    line: str | None = None,
    status: str | None = Query(default=None, pattern="^(open|closed)$"),
    q: str | None = Query(default=None, max_length=100, description="Substring of lot id or line."),
    limit: int = Query(default=100, ge=1, le=1000),
    offset: int = Query(default=0, ge=0, le=MAX_OFFSET),
) -> list[LotRow]:
    return store.list_lots(line=line, status=status, q=q, limit=limit, offset=offset, recycler=principal.tenant)


@router.get("/{lot_id}", summary="One lot with its weighings", response_model=LotWithWeighings)
def get_lot(lot_id: str, store: StoreDep, principal: PrincipalDep) -> dict[str, object]:
    lot = store.get_lot(lot_id, recycler=principal.tenant)
    if lot is None:
        raise HTTPException(status_code=404, detail=f"lot {lot_id!r} not found")
    return {**lot, "weighings": store.lot_readings(lot_id, kind="weighing")}


@router.get("/{lot_id}/readings", summary="All readings attributed to a lot", response_model=list[Reading])
def lot_readings(lot_id: str, store: StoreDep, principal: PrincipalDep,
                 kind: str | None = Query(default=None, max_length=32)) -> list[ReadingRow]:
    if store.get_lot(lot_id, recycler=principal.tenant) is None:
        raise HTTPException(status_code=404, detail=f"lot {lot_id!r} not found")
    return store.lot_readings(lot_id, kind=kind)


class RecyclerAssignment(BaseModel):
    model_config = STRICT

    recycler: str | None = Field(pattern=NAME_PATTERN,
                                 description="Recycler the lot and its evidence are addressed to (null: nobody).")


@router.put("/{lot_id}/recycler", summary="Address a lot (and its evidence) to a recycler (operator/admin)")
def assign_recycler(lot_id: str, body: RecyclerAssignment, request: Request) -> RecyclerAssigned:
    if not request.app.state.auth.repo.set_lot_recycler(lot_id, body.recycler):
        raise HTTPException(status_code=404, detail=f"lot {lot_id!r} not found")
    return RecyclerAssigned(lot_id=lot_id, recycler=body.recycler)
