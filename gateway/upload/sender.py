"""Deliver due outbox rows: EPCIS capture (POST /capture, 202 + job polling) and signed webhooks.

Each row is claimed (leased) before its request and released with the outcome, so several senders (the
gateway's worker in each process, the CLI) never send one row at the same time. A sender killed between
claim and outcome leaves the lease to run out; the row is then sent again, the same bytes (the payload is
stored at queue time), which a capture repository recognises by its event ids.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Callable
from urllib.parse import urljoin

import httpx

from gateway.store.db import Database, now_iso
from gateway.upload import outbox
from junkan.core.ids import new_id

log = logging.getLogger("junkan.gateway.upload")

EPCIS_HEADERS = {"GS1-EPCIS-Version": "2.0.0", "GS1-CBV-Version": "2.0.0", "GS1-Capture-Error-Behaviour": "rollback",
                 "Content-Type": "application/json"}
POLL_S = 1.0
MAX_PER_PASS = 200  # rows one pass delivers at most (the worker's loop comes back for the rest)


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
    """Claims due rows one at a time and delivers them. ``owner`` names this sender in leases; ``lease_s``
    must outlast one request (the HTTP client's timeout); ``capture_token`` is sent as a bearer token only
    to URLs under ``capture_prefix`` (never to another host a CLI-queued row names)."""

    def __init__(self, db: Database, client: httpx.Client, backoff_base_s: float = 1.0, *,
                 policy: outbox.Policy | None = None, owner: str | None = None, lease_s: float = 120.0,
                 capture_token: str | None = None, capture_prefix: str | None = None,
                 on_outcome: Callable[[str, str], None] | None = None, stop: threading.Event | None = None) -> None:
        self.db, self.client = db, client
        self.policy = policy or outbox.Policy(backoff_base_s=backoff_base_s)
        self.owner = owner or f"sender-{new_id()}"
        self.lease_s = lease_s
        self.token, self.token_prefix = capture_token, capture_prefix
        self.on_outcome = on_outcome
        self.stop = stop  # set: no further row is claimed (the one in hand is finished)

    def run_once(self) -> dict[str, int]:
        """One pass over the rows due now; returns counts by outcome."""
        counts: dict[str, int] = {}
        for _ in range(MAX_PER_PASS):
            if self.stop is not None and self.stop.is_set():
                break
            row = outbox.claim(self.db, self.owner, self.lease_s)
            if row is None:
                break
            outcome = self._deliver(row)
            counts[outcome] = counts.get(outcome, 0) + 1
            if self.on_outcome:
                self.on_outcome(row.kind, outcome)
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

    def _finish(self, row: outbox.Delivery, outcome: str, *, state: str, attempts: int, delay_s: float = 0.0,
                error: str | None = None, job_url: str | None = None) -> str:
        if outbox.finish(self.db, row.id, self.owner, state=state, attempts=attempts, delay_s=delay_s, error=error,
                         job_url=job_url):
            return outcome
        log.warning("upload %s: lease lost before its outcome (%s) was recorded; another sender has it", row.id,
                    outcome)
        return "lease_lost"

    def _retry(self, row: outbox.Delivery, error: str) -> str:
        attempts = row.attempts + 1
        if attempts >= self.policy.max_attempts:
            return self._finish(row, "failed", state="failed", attempts=attempts,
                                error=f"gave up after {attempts} attempts: {error}")
        return self._finish(row, "retry", state=row.state, attempts=attempts, delay_s=self.policy.backoff_s(attempts),
                            error=error)

    def _deliver(self, row: outbox.Delivery) -> str:
        try:
            if row.kind == "epcis":
                return self._poll(row) if row.state == "polling" else self._capture(row)
            if row.kind == "webhook":
                return self._webhook(row)
            if row.kind == "untp":
                return self._post(row, row.target_url or row.target, row.payload.encode(), row.headers, "untp")
            return self._finish(row, "failed", state="failed", attempts=row.attempts, error="unknown kind")
        except httpx.HTTPError as exc:
            return self._retry(row, f"{type(exc).__name__}: {exc}")

    def _auth(self, url: str) -> dict[str, str]:
        if self.token and self.token_prefix and url.startswith(self.token_prefix):
            return {"Authorization": f"Bearer {self.token}"}
        return {}

    def _capture(self, row: outbox.Delivery) -> str:
        resp = self.client.post(row.target, content=row.payload.encode(),
                                headers={**EPCIS_HEADERS, **self._auth(row.target)})
        if resp.status_code == 202:
            location = resp.headers.get("Location")
            if not location:
                return self._finish(row, "done", state="done", attempts=row.attempts + 1,
                                    error="202 without Location: capture accepted, job not trackable")
            return self._finish(row, "accepted", state="polling", attempts=row.attempts + 1,
                                job_url=urljoin(row.target, location))
        return self._answered(row, resp, f"HTTP {resp.status_code}: {resp.text[:500]}", "refused")

    def _poll(self, row: outbox.Delivery) -> str:
        if row.job_url is None:  # only _capture sets 'polling', always with the job's URL
            return self._finish(row, "failed", state="failed", attempts=row.attempts,
                                error="polling without a job URL")
        resp = self.client.get(row.job_url, headers={"GS1-EPCIS-Version": "2.0.0", **self._auth(row.job_url)})
        if _transient(resp.status_code):
            return self._retry(row, f"poll HTTP {resp.status_code}")
        try:
            job = resp.json()
        except ValueError:
            job = {}
        if resp.status_code != 200 or not isinstance(job, dict):
            return self._finish(row, "failed", state="failed", attempts=row.attempts,
                                error=f"capture job unreadable: HTTP {resp.status_code} {resp.text[:500]}")
        if job.get("running"):
            return self._finish(row, "running", state="polling", attempts=row.attempts,
                                delay_s=POLL_S * self.policy.backoff_base_s)
        if job.get("success"):
            return self._finish(row, "done", state="done", attempts=row.attempts)
        return self._finish(row, "failed", state="failed", attempts=row.attempts,
                            error=f"capture job failed: {str(job.get('errors') or job)[:1500]}")

    def _webhook(self, row: outbox.Delivery) -> str:
        hook = self.db.one("SELECT url, secret FROM webhooks WHERE recycler = ?", (row.target,))
        if hook is None:
            return self._finish(row, "failed", state="failed", attempts=row.attempts,
                                error=f"no webhook registered for recycler {row.target!r}")
        url = row.target_url or hook["url"]
        if url != hook["url"]:  # re-registered since: the new URL gets its own row (re-publish / publish_on_close)
            return self._finish(row, "failed", state="failed", attempts=row.attempts,
                                error=f"superseded: recycler {row.target!r} now receives at {hook['url']}")
        body = row.payload.encode()
        ts = str(int(time.time()))
        headers = {"Content-Type": "application/json", "X-Junkan-Event": "evidence.ready",
                   "X-Junkan-Timestamp": ts, "X-Junkan-Signature": webhook_signature(hook["secret"], ts, body),
                   "X-Junkan-Delivery": str(row.id)}
        return self._post(row, url, body, headers, "webhook")

    def _post(self, row: outbox.Delivery, url: str, body: bytes, headers: dict[str, str], what: str) -> str:
        """A plain POST (webhook, UNTP credential)."""
        resp = self.client.post(url, content=body, headers=headers)
        return self._answered(row, resp, f"{what} HTTP {resp.status_code}", f"{what} refused")

    def _answered(self, row: outbox.Delivery, resp: httpx.Response, transient_error: str, refused: str) -> str:
        """A POST's answer: 2xx done, a transient status retried (``transient_error``), any other refused."""
        if 200 <= resp.status_code < 300:
            return self._finish(row, "done", state="done", attempts=row.attempts + 1)
        if _transient(resp.status_code):
            return self._retry(row, transient_error)
        return self._finish(row, "failed", state="failed", attempts=row.attempts + 1,
                            error=f"{refused} HTTP {resp.status_code}: {resp.text[:1500]}")
