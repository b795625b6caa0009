"""Deliver due outbox rows: EPCIS capture (POST /capture, 202 + job polling) and signed webhooks."""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import urljoin

import httpx

from gateway.store.db import Database, now_iso
from gateway.upload import outbox

EPCIS_HEADERS = {"GS1-EPCIS-Version": "2.0.0", "GS1-CBV-Version": "2.0.0", "GS1-Capture-Error-Behaviour": "rollback",
                 "Content-Type": "application/json"}
POLL_S = 1.0


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256 over ``timestamp.body`` (the timestamp stops replays)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def register_webhook(db: Database, recycler: str, url: str, secret: str) -> None:
    if not url.startswith(("http://", "https://")) or len(secret) < 16:
        raise ValueError("webhook needs an http(s) URL and a secret of at least 16 characters")
    with db.tx():
        db.execute("DELETE FROM webhooks WHERE recycler = ?", (recycler,))
        db.execute("INSERT INTO webhooks (recycler, url, secret, created_at) VALUES (?,?,?,?)",
                   (recycler, url, secret, now_iso()))


def _transient(status: int) -> bool:
    return status in (408, 425, 429) or status >= 500


class Sender:
    def __init__(self, db: Database, client: httpx.Client, backoff_base_s: float = 1.0) -> None:
        self.db, self.client, self.base = db, client, backoff_base_s

    def run_once(self) -> dict[str, int]:
        """One pass over due rows; returns counts by outcome."""
        counts: dict[str, int] = {}
        for row in outbox.due(self.db):
            outcome = self._deliver(row)
            counts[outcome] = counts.get(outcome, 0) + 1
        return counts

    def run_until_idle(self, timeout_s: float = 30.0) -> dict[str, int]:
        """Deliver until nothing is pending or polling (tests, CLI --once)."""
        total: dict[str, int] = {}
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for k, v in self.run_once().items():
                total[k] = total.get(k, 0) + v
            if not self.db.rows("SELECT id FROM upload_outbox WHERE state IN ('pending', 'polling')"):
                break
            time.sleep(0.05)
        return total

    def _retry(self, row: outbox.Delivery, error: str) -> str:
        attempts = row.attempts + 1
        if attempts >= outbox.MAX_ATTEMPTS:
            outbox.update(self.db, row.id, state="failed", attempts=attempts, error=f"gave up: {error}")
            return "failed"
        outbox.update(self.db, row.id, state=row.state, attempts=attempts,
                      delay_s=outbox.backoff_s(attempts, self.base), error=error)
        return "retry"

    def _deliver(self, row: outbox.Delivery) -> str:
        try:
            if row.kind == "epcis":
                return self._poll(row) if row.state == "polling" else self._capture(row)
            if row.kind == "webhook":
                return self._webhook(row)
            outbox.update(self.db, row.id, state="failed", attempts=row.attempts, error="unknown kind")
            return "failed"
        except httpx.HTTPError as exc:
            return self._retry(row, f"{type(exc).__name__}: {exc}")

    def _capture(self, row: outbox.Delivery) -> str:
        resp = self.client.post(row.target, content=row.payload.encode(), headers=EPCIS_HEADERS)
        if resp.status_code == 202:
            location = resp.headers.get("Location")
            if not location:
                outbox.update(self.db, row.id, state="done", attempts=row.attempts + 1,
                              error="202 without Location: capture accepted, job not trackable")
                return "done"
            outbox.update(self.db, row.id, state="polling", attempts=row.attempts + 1, delay_s=0.0,
                          job_url=urljoin(row.target, location))
            return "accepted"
        if 200 <= resp.status_code < 300:
            outbox.update(self.db, row.id, state="done", attempts=row.attempts + 1)
            return "done"
        if _transient(resp.status_code):
            return self._retry(row, f"HTTP {resp.status_code}: {resp.text[:500]}")
        outbox.update(self.db, row.id, state="failed", attempts=row.attempts + 1,
                      error=f"refused HTTP {resp.status_code}: {resp.text[:1500]}")
        return "failed"

    def _poll(self, row: outbox.Delivery) -> str:
        if row.job_url is None:  # only _capture sets 'polling', always with the job's URL
            outbox.update(self.db, row.id, state="failed", attempts=row.attempts, error="polling without a job URL")
            return "failed"
        resp = self.client.get(row.job_url, headers={"GS1-EPCIS-Version": "2.0.0"})
        if _transient(resp.status_code):
            return self._retry(row, f"poll HTTP {resp.status_code}")
        try:
            job = resp.json()
        except ValueError:
            job = {}
        if resp.status_code != 200 or not isinstance(job, dict):
            outbox.update(self.db, row.id, state="failed", attempts=row.attempts,
                          error=f"capture job unreadable: HTTP {resp.status_code} {resp.text[:500]}")
            return "failed"
        if job.get("running"):
            outbox.update(self.db, row.id, state="polling", attempts=row.attempts, delay_s=POLL_S * self.base)
            return "running"
        if job.get("success"):
            outbox.update(self.db, row.id, state="done", attempts=row.attempts)
            return "done"
        outbox.update(self.db, row.id, state="failed", attempts=row.attempts,
                      error=f"capture job failed: {str(job.get('errors') or job)[:1500]}")
        return "failed"

    def _webhook(self, row: outbox.Delivery) -> str:
        hook = self.db.one("SELECT url, secret FROM webhooks WHERE recycler = ?", (row.target,))
        if hook is None:
            outbox.update(self.db, row.id, state="failed", attempts=row.attempts,
                          error=f"no webhook registered for recycler {row.target!r}")
            return "failed"
        body = row.payload.encode()
        ts = str(int(time.time()))
        headers = {"Content-Type": "application/json", "X-Junkan-Event": "evidence.ready",
                   "X-Junkan-Timestamp": ts, "X-Junkan-Signature": webhook_signature(hook["secret"], ts, body),
                   "X-Junkan-Delivery": str(row.id)}
        resp = self.client.post(hook["url"], content=body, headers=headers)
        if 200 <= resp.status_code < 300:
            outbox.update(self.db, row.id, state="done", attempts=row.attempts + 1)
            return "done"
        return self._retry(row, f"webhook HTTP {resp.status_code}")
