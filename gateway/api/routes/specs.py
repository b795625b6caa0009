"""Buyers' requirement specifications and per-lot conformance."""

from __future__ import annotations

from datetime import UTC, datetime

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


def _with_limits(spec: RequirementSpec) -> SpecWithLimits:
    return SpecWithLimits(**dict(spec), effective_limits=effective_limits(spec, datetime.now(UTC).date()))


@router.get("", summary="All requirement specs")
def list_specs(store: StoreDep) -> list[RequirementSpec]:
    return repo.list_specs(store.db)


@router.put("/{spec_id}", summary="Create or replace a spec")
def put_spec(spec_id: str, spec: RequirementSpec, store: StoreDep) -> SpecWithLimits:
    if spec.spec_id != spec_id:
        raise HTTPException(status_code=422, detail="spec_id in the path and the body differ")
    repo.save_spec(store.db, spec)
    return _with_limits(spec)


@router.get("/{spec_id}", summary="One spec with its effective limits (buyer + regulatory defaults)")
def get_spec(spec_id: str, store: StoreDep) -> SpecWithLimits:
    spec = repo.get_spec(store.db, spec_id)
    if spec is None:
        raise HTTPException(status_code=404, detail=f"spec {spec_id!r} not found")
    return _with_limits(spec)


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
