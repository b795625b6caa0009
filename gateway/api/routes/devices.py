"""Devices and agents as their status messages and readings describe them."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query

from gateway.api.deps import StoreDep
from gateway.api.models import Agent, DeadLetter, Device
from gateway.ingest.validate import REASONS
from junkan.core.names import NAME_PATTERN

REASON_CODES = REASONS

router = APIRouter(prefix="/api/v1", tags=["devices"])


@router.get("/devices", summary="Every device seen, with liveness and parse-error counters",
            response_model=list[Device])
def list_devices(store: StoreDep) -> list[dict[str, object]]:
    return store.list_devices()


@router.get("/agents", summary="Every agent seen, with session, outbox backlog and open lot",
            response_model=list[Agent])
def list_agents(store: StoreDep) -> list[dict[str, object]]:
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
) -> list[dict[str, object]]:
    return store.dead_letters(limit, before_id=before_id, offset=offset, reason=reason, agent=agent)
