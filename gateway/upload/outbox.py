"""Durable upload outbox (table ``upload_outbox``): one row per (kind, lot, target URL, document hash).

States: pending -> (polling ->) done | failed. Transient failures (connection, timeout, 408, 429, 5xx)
retry with exponential backoff; a permanent refusal (other 4xx, capture job reporting failure) or the
last allowed attempt marks the row failed with the reason, kept for the operator (who may retry it).

Several gateway processes may deliver from one database, so a row is **claimed** before it is sent: a
conditional UPDATE that succeeds for one caller only (``lease_owner``, ``lease_until``), portable to
SQLite and PostgreSQL (PostgreSQL re-checks the WHERE clause after the row lock, so two workers racing
for a row get rowcount 1 and 0). Every later write names the owner, so a worker whose lease ran out
(killed, or stuck past it) cannot overwrite the row another worker has taken over since.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway.store.db import Database, dumps

MAX_ATTEMPTS = 12
MAX_BACKOFF_S = 600.0
STATES = ("pending", "polling", "done", "failed")


@dataclass(frozen=True)
class Policy:
    """Retry policy (``upload:`` settings): attempts before dead-lettering, backoff base and cap."""

    max_attempts: int = MAX_ATTEMPTS
    backoff_base_s: float = 1.0
    backoff_max_s: float = MAX_BACKOFF_S

    def backoff_s(self, attempts: int) -> float:
        return backoff_s(attempts, self.backoff_base_s, self.backoff_max_s)


class Delivery(BaseModel):
    """One queued upload (a row of ``upload_outbox``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: int
    kind: str = Field(description="epcis (capture), webhook (recycler) or untp (a signed UNTP credential); "
                      "another kind fails as unknown.")
    target: str = Field(description="Capture URL, or the recycler whose webhook receives it.")
    dedup_key: str = Field(description="One delivery per (kind, lot, target URL, document hash).")
    payload: str = Field(description="The body, as sent.")
    headers: dict[str, str]
    state: Literal["pending", "polling", "done", "failed"]
    attempts: int = Field(ge=0)
    next_attempt_at: str
    job_url: str | None = Field(description="EPCIS capture job being polled.")
    last_error: str | None
    created_at: str
    updated_at: str
    lot_id: str | None = Field(default=None, description="Null: queued before release 0460 and not yet adopted.")
    target_url: str | None = Field(default=None, description="The URL the row is sent to (a webhook: the "
                                   "recycler's URL when it was queued).")
    doc_sha256: str | None = Field(default=None, description="Hash of the document's content (EPCIS: its "
                                   "event list; webhook: the evidence without its id and issue time).")
    lease_owner: str | None = None
    lease_until: str | None = None


def iso(at: datetime) -> str:
    """One timestamp layout (microseconds always), so text comparison in SQL is time order."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def now_at() -> str:
    return iso(datetime.now(UTC))


def backoff_s(attempts: int, base: float = 1.0, cap: float = MAX_BACKOFF_S) -> float:
    return float(min(base * 2 ** max(attempts - 1, 0), cap))


def url_tag(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def dedup_key(kind: str, lot_id: str, doc_sha256: str, target_url: str) -> str:
    """The content key: a lot's document to one URL once; the same document to a corrected URL is new."""
    return f"{kind}:{lot_id}:{doc_sha256[:32]}:{url_tag(target_url)}"


def enqueue(db: Database, kind: str, target: str, key: str, payload: str, headers: dict[str, str] | None = None,
            *, lot_id: str | None = None, target_url: str | None = None, doc_sha256: str | None = None,
            legacy_key: str | None = None) -> int | None:
    """Queue a delivery; returns its id (an existing one for a known key). ``legacy_key``: the key an older
    release gave the same content (EPCIS: without the URL); a row under it for the same target counts."""
    with db.tx():
        existing = db.one("SELECT id FROM upload_outbox WHERE dedup_key = ?", (key,))
        if existing is None and legacy_key:
            existing = db.one("SELECT id FROM upload_outbox WHERE dedup_key = ? AND target = ?", (legacy_key, target))
            if existing:  # adopt it: the closed-lot scan then sees this lot as queued for the URL
                db.execute("UPDATE upload_outbox SET lot_id = ?, target_url = ?, doc_sha256 = ? WHERE id = ?",
                           (lot_id, target_url, doc_sha256, existing["id"]))
        if existing:
            return int(existing["id"])
        now = now_at()
        db.execute("INSERT INTO upload_outbox (kind, target, dedup_key, payload, headers, state, attempts, "
                   "next_attempt_at, created_at, updated_at, lot_id, target_url, doc_sha256) "
                   "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (dedup_key) DO NOTHING",
                   (kind, target, key, payload, dumps(headers or {}), "pending", 0, now, now, now, lot_id,
                    target_url, doc_sha256))
        row = db.one("SELECT id FROM upload_outbox WHERE dedup_key = ?", (key,))
    return int(row["id"]) if row else None


def adopt_legacy(db: Database) -> int:
    """Rows queued before 0460 get their lot (EPCIS: from the key ``epcis:LOT:DIGEST``; webhook: from the
    body) and a webhook its recycler's current URL, so the closed-lot scan does not queue them again."""
    found = db.rows("SELECT id, kind, target, dedup_key, payload FROM upload_outbox WHERE lot_id IS NULL")
    for row in found:
        lot: str | None = None
        url: str | None = None
        if row["kind"] == "epcis" and row["dedup_key"].startswith("epcis:"):
            lot, url = row["dedup_key"][len("epcis:"):].rsplit(":", 1)[0], row["target"]
        elif row["kind"] == "webhook":
            try:
                lot = str(json.loads(row["payload"])["lot_id"])
            except (ValueError, KeyError, TypeError):
                lot = None
            url = db.scalar("SELECT url FROM webhooks WHERE recycler = ?", (row["target"],))
        if lot:
            db.execute("UPDATE upload_outbox SET lot_id = ?, target_url = COALESCE(target_url, ?) WHERE id = ?",
                       (lot, url, row["id"]))
    return len(found)


def claim(db: Database, owner: str, lease_s: float, now: datetime | None = None) -> Delivery | None:
    """The next due row, leased to ``owner`` for ``lease_s`` seconds; None when nothing is due (or every due
    row is held by another live lease)."""
    at = iso(now or datetime.now(UTC))
    until = iso((now or datetime.now(UTC)) + timedelta(seconds=lease_s))
    for _ in range(20):  # another worker may win each candidate; a few tries, then the next pass
        candidates = db.rows(
            "SELECT id FROM upload_outbox WHERE state IN ('pending', 'polling') AND next_attempt_at <= ? "
            "AND (lease_until IS NULL OR lease_until < ?) ORDER BY next_attempt_at, id LIMIT 5", (at, at))
        if not candidates:
            return None
        for cand in candidates:
            won = db.execute(
                "UPDATE upload_outbox SET lease_owner = ?, lease_until = ? WHERE id = ? "
                "AND state IN ('pending', 'polling') AND next_attempt_at <= ? "
                "AND (lease_until IS NULL OR lease_until < ?)", (owner, until, cand["id"], at, at))
            if won == 1:
                row = db.one("SELECT * FROM upload_outbox WHERE id = ?", (cand["id"],), ("headers",))
                return Delivery.model_validate(row) if row else None
    return None


def finish(db: Database, row_id: int, owner: str | None, *, state: str, attempts: int, delay_s: float = 0.0,
           error: str | None = None, job_url: str | None = None) -> bool:
    """Record an attempt's outcome and release the lease; False when ``owner`` no longer holds it (the write
    is then dropped: the row belongs to whoever claimed it since). ``owner`` None: an unleased write (CLI)."""
    nxt = iso(datetime.now(UTC) + timedelta(seconds=delay_s))
    sql = ("UPDATE upload_outbox SET state = ?, attempts = ?, next_attempt_at = ?, last_error = ?, "
           "job_url = COALESCE(?, job_url), updated_at = ?, lease_owner = NULL, lease_until = NULL WHERE id = ?")
    params: list[object] = [state, attempts, nxt, error[:2000] if error else None, job_url, now_at(), row_id]
    if owner is not None:
        sql += " AND lease_owner = ?"
        params.append(owner)
    with db.tx():
        return db.execute(sql, params) == 1


def retry(db: Database, row_id: int) -> Delivery:
    """A failed row back to pending with a fresh attempt budget (its last error kept until the next try).
    KeyError: no such row; ValueError: the row is not failed."""
    with db.tx():
        row = db.one("SELECT state FROM upload_outbox WHERE id = ?", (row_id,))
        if row is None:
            raise KeyError(row_id)
        if row["state"] != "failed":
            raise ValueError(f"upload {row_id} is {row['state']}, not failed: nothing to retry")
        db.execute("UPDATE upload_outbox SET state = 'pending', attempts = 0, next_attempt_at = ?, job_url = NULL, "
                   "lease_owner = NULL, lease_until = NULL, updated_at = ? WHERE id = ? AND state = 'failed'",
                   (now_at(), now_at(), row_id))
        found = db.one("SELECT * FROM upload_outbox WHERE id = ?", (row_id,), ("headers",))
    return Delivery.model_validate(found)


def counts(db: Database) -> dict[str, int]:
    """Rows per state (every state present, 0 when none)."""
    out = dict.fromkeys(STATES, 0)
    for r in db.rows("SELECT state, COUNT(*) AS n FROM upload_outbox GROUP BY state"):
        out[str(r["state"])] = int(r["n"])
    return out


def rows(db: Database, state: str | None = None, limit: int = 10_000, offset: int = 0) -> list[Delivery]:
    """Oldest first; with ``state`` only that state's rows."""
    found = (db.rows("SELECT * FROM upload_outbox WHERE state = ? ORDER BY id LIMIT ? OFFSET ?",
                     (state, limit, offset), ("headers",)) if state
             else db.rows("SELECT * FROM upload_outbox ORDER BY id LIMIT ? OFFSET ?", (limit, offset), ("headers",)))
    return [Delivery.model_validate(r) for r in found]


def lots_to_publish(db: Database, capture_target: str | None, limit: int = 20, untp_url: str | None = None
                    ) -> list[str]:
    """Closed lots with no row for a target they should reach now: the capture endpoint and the UNTP
    endpoint (when configured) and their recycler's registered webhook URL. Oldest closed first."""
    found: list[str] = []
    for kind, url in (("epcis", capture_target), ("untp", untp_url)):
        if url:
            found += [r["lot_id"] for r in db.rows(
                "SELECT l.lot_id FROM lots l WHERE l.status = 'closed' AND NOT EXISTS (SELECT 1 FROM upload_outbox "
                "o WHERE o.lot_id = l.lot_id AND o.kind = ? AND o.target_url = ?) ORDER BY l.closed_at, l.lot_id "
                "LIMIT ?", (kind, url, limit))]
    found += [r["lot_id"] for r in db.rows(
        "SELECT l.lot_id FROM lots l JOIN webhooks w ON w.recycler = l.recycler WHERE l.status = 'closed' "
        "AND NOT EXISTS (SELECT 1 FROM upload_outbox o WHERE o.lot_id = l.lot_id AND o.kind = 'webhook' "
        "AND o.target_url = w.url) ORDER BY l.closed_at, l.lot_id LIMIT ?", (limit,))]
    return list(dict.fromkeys(found))
