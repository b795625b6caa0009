"""Buyers' requirement specifications and per-lot conformance."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import Field

from gateway.api.deps import StoreDep
from gateway.api.models import Out
from gateway.evidence.build import lot_measurement
from gateway.specs import repo
from gateway.specs.conformance import conformance
from gateway.specs.lab import latest
from gateway.specs.lab_repo import confirmations
from gateway.specs.model import Limit, RequirementSpec, effective_limits
from junkan.core.evidence import ConformanceResult

router = APIRouter(prefix="/api/v1/specs", tags=["specs"])


class SpecWithLimits(RequirementSpec):
    effective_limits: list[Limit] = Field(description="Buyer limits plus the regulatory defaults in force today.")


class Deleted(Out):
    deleted: str


@router.get("", summary="All requirement specs", response_model=list[RequirementSpec])
def list_specs(store: StoreDep) -> list[dict[str, Any]]:
    return repo.spec_dicts(store.db)


@router.put("/{spec_id}", summary="Create or replace a spec", response_model=SpecWithLimits)
def put_spec(spec_id: str, spec: RequirementSpec, store: StoreDep) -> dict[str, Any]:
    if spec.spec_id != spec_id:
        raise HTTPException(status_code=422, detail="spec_id in the path and the body differ")
    repo.save_spec(store.db, spec)
    today = datetime.now(UTC).date()
    return spec.model_dump(mode="json") | {"effective_limits": [x.model_dump() for x in effective_limits(spec, today)]}


@router.get("/{spec_id}", summary="One spec with its effective limits (buyer + regulatory defaults)",
            response_model=SpecWithLimits)
def get_spec(spec_id: str, store: StoreDep) -> dict[str, Any]:
    spec = repo.get_spec(store.db, spec_id)
    if spec is None:
        raise HTTPException(status_code=404, detail=f"spec {spec_id!r} not found")
    today = datetime.now(UTC).date()
    return spec.model_dump(mode="json") | {"effective_limits": [x.model_dump() for x in effective_limits(spec, today)]}


@router.delete("/{spec_id}", summary="Delete a spec")
def delete_spec(spec_id: str, store: StoreDep) -> Deleted:
    if not repo.delete_spec(store.db, spec_id):
        raise HTTPException(status_code=404, detail=f"spec {spec_id!r} not found")
    return Deleted(deleted=spec_id)


@router.get("/{spec_id}/conformance/{lot_id}", summary="Conformance of one lot to one spec, with reasons")
def lot_conformance(spec_id: str, lot_id: str, store: StoreDep) -> ConformanceResult:
    spec = repo.get_spec(store.db, spec_id)
    if spec is None:
        raise HTTPException(status_code=404, detail=f"spec {spec_id!r} not found")
    lot = store.get_lot(lot_id)
    if lot is None:
        raise HTTPException(status_code=404, detail=f"lot {lot_id!r} not found")
    measurement, _, _ = lot_measurement(lot)  # none or unreadable: every check is insufficient_data
    lab = latest(confirmations(store.db, lot_id))  # PBDE/PBB from the lab in preference to the Br bound
    return conformance(spec, measurement, datetime.now(UTC).date(), lab)
