"""A lot's measurement: as the agent computed it at close, or re-computed from the stored readings."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Query
from pydantic import ValidationError

from gateway.api.deps import StoreDep
from junkan.core.measurement import MeasurementParams, evidence_from_readings, measure
from junkan.core.measurement_model import LotMeasurement, Measurement, parse_lot_measurement

router = APIRouter(prefix="/api/v1/lots", tags=["lots"])


@router.get("/{lot_id}/measurement", summary="Lot measurement (optionally re-computed from stored readings)")
def lot_measurement(lot_id: str, store: StoreDep,
                    recompute: bool = Query(default=False, description="Re-compute with the agent's functions.")
                    ) -> LotMeasurement:
    lot = store.get_lot(lot_id)
    if lot is None:
        raise HTTPException(status_code=404, detail=f"lot {lot_id!r} not found")
    try:
        stored = parse_lot_measurement(lot.get("measurement"))
    except ValidationError as exc:
        if not recompute:
            raise HTTPException(status_code=409, detail=f"lot {lot_id!r}: stored measurement is not a "
                                f"junkan.measurement/1 document ({exc.error_count()} errors)") from exc
        stored = None  # re-computed below with the default parameters
    if not recompute and stored is not None:
        return stored
    params = stored.params if isinstance(stored, Measurement) else MeasurementParams()  # none stored: defaults
    ev = evidence_from_readings(store.lot_readings(lot_id))
    closed = lot.get("closed_at") or datetime.now(UTC).isoformat()
    result = measure(ev, opened_at=datetime.fromisoformat(lot["opened_at"]), closed_at=datetime.fromisoformat(closed),
                     params=params)
    return result.model_copy(update={"recomputed": True})
