"""Lab confirmations of a lot's brominated flame retardants (GC-MS per IEC 62321-6): attach and list.

A POPs-suspect lot (``gateway/specs/screening.py``) keeps its recycled-content claims blocked until a lab
confirmation attached here passes; the evidence then carries the verdict and its report's sha256.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException
from pydantic import Field

from gateway.api.deps import SettingsDep, StoreDep
from gateway.api.models import Error, Out
from gateway.auth import PrincipalDep
from gateway.evidence.build import build_evidence
from gateway.specs import lab_repo
from gateway.specs.lab import LabConfirmation, LabConfirmationIn, lab_verdict
from junkan.core.evidence import LabVerdict, Screening

router = APIRouter(prefix="/api/v1/lots", tags=["lab"])


class LabAttached(Out):
    confirmation: LabConfirmation = Field(description="The stored confirmation, with its id.")
    verdict: LabVerdict = Field(description="The confirmation judged against the limits in force today.")
    screening: Screening | None = Field(description="The lot's screening with this confirmation counted "
                                        "(null: the lot has no evidence yet).")


@router.post("/{lot_id}/lab-confirmations", status_code=201, summary="Attach a lab confirmation (GC-MS) to a lot",
             response_model=LabAttached, responses={404: {"model": Error, "description": "Unknown lot."}})
def attach(lot_id: str, body: LabConfirmationIn, store: StoreDep, settings: SettingsDep,
           principal: PrincipalDep) -> LabAttached:
    try:
        conf = lab_repo.attach(store.db, lot_id, body, principal.name)
    except KeyError as exc:
        raise HTTPException(status_code=404, detail=f"lot {lot_id!r} not found") from exc
    today = datetime.now(UTC).date()
    try:
        screening = build_evidence(store, store.db, lot_id, specs=[], screening=settings.screening).screening
    except KeyError:
        screening = None
    verdict = (screening.lab if screening is not None and screening.lab is not None
               and screening.lab.confirmation_id == conf.confirmation_id else lab_verdict(conf, today))
    return LabAttached(confirmation=conf, verdict=verdict, screening=screening)


@router.get("/{lot_id}/lab-confirmations", summary="Lab confirmations of a lot, oldest analysis first")
def list_confirmations(lot_id: str, store: StoreDep) -> list[LabConfirmation]:
    return lab_repo.confirmations(store.db, lot_id)
