"""The upload worker of `junkan gateway serve`: delivers the outbox in the background, and (``publish_on_close``)
queues each lot that closed.

How it learns a lot closed: it asks the store, each pass, for closed lots that have no row for a target they
should reach now (the capture endpoint, the UNTP endpoint, the recycler's registered webhook). So ingest
stays unaware of uploads (no hook in the consumer), a lot closed while no worker ran is picked up at the
next start, and a gateway with several worker processes needs no coordination beyond the outbox's own
dedup key: two workers queuing the same lot meet on the same key, and the lease lets one of them send it.

A lot the evidence code refuses (open, empty) is remembered by this process and not retried every pass.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TypedDict

import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge

from gateway.evidence.formats import keys_dir_for
from gateway.evidence.issuable import NotIssuable
from gateway.evidence.keys import KeyError_
from gateway.settings import GatewaySettings
from gateway.store.base import Store
from gateway.upload import outbox
from gateway.upload.publish import capture_target, publish_evidence
from gateway.upload.sender import Sender

log = logging.getLogger("junkan.gateway.upload")

LOTS_PER_PASS = 20  # closed lots queued per pass at most: a backlog of old lots is worked off gradually


class Pass(TypedDict):
    """What one pass of the worker did."""

    queued: list[str]  # lots whose evidence it queued
    delivered: dict[str, int]  # attempts by outcome (``Sender.run_once``)


class UploadMetrics:
    """Prometheus metrics of the outbox, set by the worker after each pass (a scrape never queries the store)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.rows = Gauge("junkan_gateway_upload_outbox_rows", "Upload outbox rows by state", ["state"],
                          registry=registry)
        self.attempts = Counter("junkan_gateway_upload_attempts_total", "Delivery attempts by kind and outcome "
                                "(done, accepted, running, retry, failed, lease_lost)", ["kind", "outcome"],
                                registry=registry)
        self.queued = Counter("junkan_gateway_upload_lots_queued_total", "Closed lots queued by publish_on_close",
                              registry=registry)
        self.skipped = Gauge("junkan_gateway_upload_lots_not_issuable", "Closed lots this process found not "
                             "issuable (open, empty) and does not queue", registry=registry)
        self.pass_errors = Counter("junkan_gateway_upload_pass_errors_total", "Worker passes that failed (e.g. "
                                   "the database unavailable)", registry=registry)


class UploadWorker:
    """A daemon thread: every ``upload.interval_s``, queue closed lots (when on), then deliver due rows."""

    def __init__(self, settings: GatewaySettings, store: Store, registry: CollectorRegistry | None = None,
                 keys_dir: Path | None = None) -> None:
        self.settings, self.cfg, self.store = settings, settings.upload, store
        self.keys_dir = keys_dir or keys_dir_for(settings.db_url)
        self.registry = registry or CollectorRegistry()
        self.metrics = UploadMetrics(self.registry)
        self.skipped: dict[str, str] = {}  # lot -> why it is not queued (this process)
        self.owner = f"{settings.worker_id}-upload"
        self.target = capture_target(self.cfg.capture_url) if self.cfg.capture_url else None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: httpx.Client | None = None
        self._sender: Sender | None = None
        self._adopted = False

    # -- lifecycle ------------------------------------------------------------------------------------
    def start(self) -> UploadWorker:
        self._thread = threading.Thread(target=self._loop, name="upload-worker", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop after the delivery in hand (at most one request's timeout); no further row is claimed."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.cfg.timeout_s + 5.0)
        if self._client is not None:
            self._client.close()

    def _loop(self) -> None:
        log.info("upload worker %s: every %g s, publish_on_close %s, capture %s", self.owner, self.cfg.interval_s,
                 self.cfg.publish_on_close, self.target or "-")
        while not self._stop.is_set():
            try:
                self.run_pass()
            except Exception:  # the database away, a bug in one pass: log, count, next pass
                self.metrics.pass_errors.inc()
                log.exception("upload worker pass failed")
            self._stop.wait(self.cfg.interval_s)

    # -- one pass -------------------------------------------------------------------------------------
    def sender(self) -> Sender:
        if self._sender is None:
            self._client = httpx.Client(timeout=self.cfg.timeout_s)
            self._sender = Sender(self.store.db, self._client, owner=self.owner, lease_s=3 * self.cfg.timeout_s + 5,
                                  policy=outbox.Policy(self.cfg.max_attempts, self.cfg.backoff_base_s,
                                                       self.cfg.backoff_max_s),
                                  capture_token=self.cfg.capture_token(), capture_prefix=self.cfg.capture_url,
                                  on_outcome=lambda kind, outcome: self.metrics.attempts.labels(kind, outcome).inc(),
                                  stop=self._stop)
        return self._sender

    def run_pass(self) -> Pass:
        """Queue closed lots (publish_on_close), deliver what is due, refresh the gauges; what it did."""
        db = self.store.db
        if not self._adopted:
            outbox.adopt_legacy(db)
            self._adopted = True
        queued = self.queue_closed_lots() if self.cfg.publish_on_close else []
        delivered = self.sender().run_once()
        for state, n in outbox.counts(db).items():
            self.metrics.rows.labels(state).set(n)
        self.metrics.skipped.set(len(self.skipped))
        return {"queued": queued, "delivered": delivered}

    def queue_closed_lots(self) -> list[str]:
        queued: list[str] = []
        for lot_id in outbox.lots_to_publish(self.store.db, self.target, LOTS_PER_PASS + len(self.skipped),
                                             self.cfg.untp_url):
            if lot_id in self.skipped:
                continue
            if len(queued) >= LOTS_PER_PASS:
                break
            try:
                publish_evidence(self.store, lot_id, self.keys_dir, self.cfg.capture_url, self.cfg.untp_url,
                                 self.cfg.untp_formats, screening=self.settings.screening)
            except NotIssuable as exc:
                self.skipped[lot_id] = str(exc)
                log.info("upload worker: not queuing %s: %s", lot_id, exc)
                continue
            except KeyError_ as exc:  # no signing key: nothing can be published until there is one
                log.warning("upload worker: cannot publish closed lots: %s", exc)
                break
            except Exception as exc:  # one lot's evidence failing must not stop the others
                self.skipped[lot_id] = f"{type(exc).__name__}: {exc}"
                log.exception("upload worker: publishing %s failed", lot_id)
                continue
            queued.append(lot_id)
            self.metrics.queued.inc()
        return queued
