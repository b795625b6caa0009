"""Durable upload outbox (table ``upload_outbox``): enqueue once per dedup key, deliver with retries.

States: pending -> (polling ->) done | failed. Transient failures (connection, timeout, 408, 429, 5xx)
retry with exponential backoff; a permanent refusal (other 4xx, capture job reporting failure) or
``MAX_ATTEMPTS`` marks the row failed with the reason, kept for the operator.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway.store.db import Database, dumps, now_iso

MAX_ATTEMPTS = 12
MAX_BACKOFF_S = 600.0


class Delivery(BaseModel):
    """One queued upload (a row of ``upload_outbox``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: int
    kind: str = Field(description="epcis (capture) or webhook (recycler); another kind fails as unknown.")
    target: str = Field(description="Capture URL, or the recycler whose webhook receives it.")
    dedup_key: str = Field(description="One delivery per content.")
    payload: str = Field(description="The body, as sent.")
    headers: dict[str, str]
    state: Literal["pending", "polling", "done", "failed"]
    attempts: int = Field(ge=0)
    next_attempt_at: str
    job_url: str | None = Field(description="EPCIS capture job being polled.")
    last_error: str | None
    created_at: str
    updated_at: str


def backoff_s(attempts: int, base: float = 1.0) -> float:
    return float(min(base * 2 ** max(attempts - 1, 0), MAX_BACKOFF_S))


def enqueue(db: Database, kind: str, target: str, dedup_key: str, payload: str, headers: dict[str, str] | None = None
            ) -> int | None:
    """Queue a delivery; returns its id (an existing one for a known dedup key)."""
    with db.tx():
        existing = db.one("SELECT id FROM upload_outbox WHERE dedup_key = ?", (dedup_key,))
        if existing:
            return int(existing["id"])
        now = now_iso()
        db.execute("INSERT INTO upload_outbox (kind, target, dedup_key, payload, headers, state, attempts, "
                   "next_attempt_at, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                   (kind, target, dedup_key, payload, dumps(headers or {}), "pending", 0, now, now, now))
        row = db.one("SELECT id FROM upload_outbox WHERE dedup_key = ?", (dedup_key,))
    return int(row["id"]) if row else None


def due(db: Database, now: datetime | None = None, limit: int = 50) -> list[Delivery]:
    at = (now or datetime.now(UTC)).isoformat()
    return [Delivery.model_validate(r) for r in db.rows(
        "SELECT * FROM upload_outbox WHERE state IN ('pending', 'polling') AND next_attempt_at <= ? "
        "ORDER BY next_attempt_at, id LIMIT ?", (at, limit), ("headers",))]


def update(db: Database, row_id: int, *, state: str, attempts: int, delay_s: float = 0.0, error: str | None = None,
           job_url: str | None = None) -> None:
    nxt = (datetime.now(UTC) + timedelta(seconds=delay_s)).isoformat()
    with db.tx():
        db.execute("UPDATE upload_outbox SET state = ?, attempts = ?, next_attempt_at = ?, last_error = ?, "
                   "job_url = COALESCE(?, job_url), updated_at = ? WHERE id = ?",
                   (state, attempts, nxt, error[:2000] if error else None, job_url, now_iso(), row_id))


def rows(db: Database, state: str | None = None) -> list[Delivery]:
    found = (db.rows("SELECT * FROM upload_outbox WHERE state = ? ORDER BY id", (state,), ("headers",)) if state
             else db.rows("SELECT * FROM upload_outbox ORDER BY id", (), ("headers",)))
    return [Delivery.model_validate(r) for r in found]
