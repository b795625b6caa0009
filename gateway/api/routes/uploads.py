"""The upload outbox (EPCIS capture, recycler webhooks): list it by state, retry a dead-lettered row.

Admin only (auth policy): a row's target and error name the plant's partners and their endpoints. The
payload (a signed credential, a whole EPCIS document) is not listed; the evidence routes serve it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi import Path as PathParam
from pydantic import Field

from gateway.api.deps import MAX_OFFSET, StoreDep
from gateway.api.models import Out
from gateway.upload import outbox

router = APIRouter(prefix="/api/v1/uploads", tags=["uploads"])
State = Literal["pending", "polling", "done", "failed"]


class Upload(Out):
    id: int
    kind: str = Field(description="epcis (capture), webhook (recycler) or untp (a signed UNTP credential).")
    lot_id: str | None = Field(description="Null: queued by an older release and not yet seen by a worker.")
    target: str = Field(description="The capture endpoint, or the recycler whose webhook receives it.")
    target_url: str | None = Field(description="The URL it is sent to.")
    doc_sha256: str | None = Field(description="Hash of the document's content (the dedup key's document part).")
    state: State = Field(description="pending, polling (capture accepted, job running), done, failed "
                         "(dead-lettered: permanent refusal or the last allowed attempt).")
    attempts: int
    next_attempt_at: str = Field(description="When a pending or polling row is tried next.")
    last_error: str | None = Field(description="Why the last attempt failed (cleared when one succeeds).")
    job_url: str | None = Field(description="EPCIS capture job polled for the outcome.")
    leased_by: str | None = Field(description="The worker sending it now (null: nobody).")
    created_at: str
    updated_at: str


class Uploads(Out):
    counts: dict[str, int] = Field(description="Rows per state, over the whole outbox.")
    rows: list[Upload]


def _out(row: outbox.Delivery) -> Upload:
    """The row without its payload, headers and dedup key; ``lease_owner`` as ``leased_by``."""
    return Upload(**row.model_dump(include=set(Upload.model_fields) - {"leased_by"}), leased_by=row.lease_owner)


@router.get("", summary="The upload outbox: counts per state and the rows (oldest first)")
def list_uploads(store: StoreDep,
                 state: Annotated[State | None, Query(description="Only rows in this state.")] = None,
                 limit: int = Query(default=100, ge=1, le=1000, description="Page size."),
                 offset: int = Query(default=0, ge=0, le=MAX_OFFSET, description="Skip this many.")) -> Uploads:
    return Uploads(counts=outbox.counts(store.db),
                   rows=[_out(r) for r in outbox.rows(store.db, state, limit=limit, offset=offset)])


@router.post("/{upload_id}/retry", summary="Send a failed (dead-lettered) row again, with a fresh attempt budget",
             responses={404: {"description": "No such upload."}, 409: {"description": "The row is not failed."}})
def retry_upload(upload_id: Annotated[int, PathParam(ge=1, le=2**63 - 1)], store: StoreDep) -> Upload:
    try:
        return _out(outbox.retry(store.db, upload_id))
    except KeyError as exc:
        raise HTTPException(status_code=404, detail=f"upload {upload_id} not found") from exc
    except ValueError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc
