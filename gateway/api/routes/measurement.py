"""A lot's measurement: as the agent computed it at close, or re-computed from the stored readings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Query

from gateway.api.deps import StoreDep
from junkan.core.measurement import MeasurementParams, evidence_from_readings, measure

router = APIRouter(prefix="/api/v1/lots", tags=["lots"])


@router.get("/{lot_id}/measurement", summary="Lot measurement (optionally re-computed from stored readings)")
def lot_measurement(lot_id: str, store: StoreDep,
                    recompute: bool = Query(default=False, description="Re-compute with the agent's functions.")
                    ) -> dict[str, Any]:
    lot = store.get_lot(lot_id)
    if lot is None:
        raise HTTPException(status_code=404, detail=f"lot {lot_id!r} not found")
    stored = lot.get("measurement") or {}
    if not recompute:
        return stored
    try:
        params = MeasurementParams.model_validate(stored.get("params") or {})
    except ValueError:
        params = MeasurementParams()  # an older agent's parameters: defaults, said in the result
    ev = evidence_from_readings(store.lot_readings(lot_id))
    closed = lot.get("closed_at") or datetime.now(UTC).isoformat()
    result = measure(ev, opened_at=datetime.fromisoformat(lot["opened_at"]), closed_at=datetime.fromisoformat(closed),
                     params=params)
    result["recomputed"] = True
    return result
