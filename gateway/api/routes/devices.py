"""Devices and agents as their status messages and readings describe them."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi import Path as PathParam

from gateway.api.deps import SettingsDep, StoreDep
from gateway.api.models import Agent, DeadLetter, DeadLetterReplay, Device
from gateway.ingest.replay import replay_one
from gateway.ingest.validate import REASONS, IngestPolicy
from gateway.store.rows import AgentRow, DeadLetterRow, DeviceRow
from junkan.core.names import NAME_PATTERN

REASON_CODES = REASONS

router = APIRouter(prefix="/api/v1", tags=["devices"])


@router.get("/devices", summary="Every device seen, with liveness and parse-error counters",
            response_model=list[Device])
def list_devices(store: StoreDep) -> list[DeviceRow]:
    return store.list_devices()


@router.get("/agents", summary="Every agent seen, with session, outbox backlog and open lot",
            response_model=list[Agent])
def list_agents(store: StoreDep) -> list[AgentRow]:
    return store.list_agents()


@router.get("/dead-letters", summary="Payloads that failed validation, newest first, with the reason",
            response_model=list[DeadLetter])
def dead_letters(
    store: StoreDep, limit: int = Query(default=100, ge=1, le=1000, description="Page size."),
    before_id: int | None = Query(default=None, ge=1, le=2**63 - 1,
                                  description="Next page: ids below the last one seen."),
    offset: int = Query(default=0, ge=0, le=1_000_000, description="Or skip this many."),
    reason: Literal[REASON_CODES] | None = Query(default=None, description="Only this reason code."),  # type: ignore[valid-type]
    agent: str | None = Query(default=None, pattern=NAME_PATTERN, description="Only this agent's topics."),
) -> list[DeadLetterRow]:
    return store.dead_letters(limit, before_id=before_id, offset=offset, reason=reason, agent=agent)


@router.post("/dead-letters/{letter_id}/replay", response_model=DeadLetterReplay,
             summary="Validate and store one dead letter again, as if it had just arrived (after a fix)",
             responses={404: {"description": "No such dead letter."}})
def replay_dead_letter(letter_id: Annotated[int, PathParam(ge=1, le=2**63 - 1)], store: StoreDep,
                       settings: SettingsDep) -> dict[str, object]:
    """Today's validation and write path (the same as ``junkan gateway dead-letters replay --id``): a payload
    still refused stays a dead letter with the new reason; a stored one is marked and never stored twice."""
    policy = IngestPolicy(max_bytes=settings.max_payload_bytes, max_past_s=settings.ingest.max_past_s,
                          max_future_s=settings.ingest.max_future_s)
    result = replay_one(store, letter_id, policy)
    if result["result"] == "missing":
        raise HTTPException(status_code=404, detail=f"dead letter {letter_id} not found")
    return result
