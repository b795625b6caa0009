"""Gateway start-up, in order, and the FastAPI factory. No module globals: state lives on ``app.state``."""

from __future__ import annotations

import logging
import socket
import threading

import uvicorn
from fastapi import Depends, FastAPI

from gateway.api import openapi
from gateway.api.deps import CommandSink
from gateway.api.docs import install_docs
from gateway.api.routes import (
    auth,
    composition,
    devices,
    evidence,
    health,
    identity,
    lab,
    lines,
    lots,
    measurement,
    process,
    reports,
    specs,
    uploads,
    users,
)
from gateway.auth import authorize, install
from gateway.dashboard import pages as dashboard_pages
from gateway.dashboard import router as dashboard
from gateway.dashboard.errors import install_error_pages
from gateway.evidence.identity import ensure_identity
from gateway.ingest.consumer import Consumer, GatewayMetrics
from gateway.ingest.heap import release_heap, settle_heap
from gateway.settings import GatewaySettings
from gateway.store import open_store
from gateway.store.base import Store
from gateway.store.version import versions
from junkan.core.systemd import Notifier

log = logging.getLogger("junkan.gateway")

ROUTERS = [health.router, lots.router, devices.router, lines.router, auth.router, users.router, dashboard.router,
           evidence.router, identity.router, composition.router, process.router, reports.router, specs.router,
           measurement.router, lab.router, dashboard_pages.router, uploads.router]


def create_app(settings: GatewaySettings, store: Store, commands: CommandSink | None = None,
               metrics: GatewayMetrics | None = None) -> FastAPI:
    """Build the REST API (OpenAPI at /docs) around an already opened store."""
    app = FastAPI(title="junkan gateway", version="1", description="Lots, devices and evidence of a recycling plant.",
                  dependencies=[Depends(authorize)],  # every route: authentication, roles, tenancy
                  docs_url=None, redoc_url=None)  # install_docs: Swagger UI / ReDoc without a CDN
    app.state.settings, app.state.store, app.state.commands = settings, store, commands
    app.state.metrics = metrics or GatewayMetrics()
    app.state.versions = versions(store)  # read once: the probes report it without touching the database
    app.state.uploads = None  # serve() sets its upload worker here (the dashboard shows what it skipped)
    install(app)
    install_docs(app)
    for router in ROUTERS:
        app.include_router(router)
    openapi.install(app)  # after the routes: every one gets its error responses
    install_error_pages(app)  # dashboard paths: HTML in the user's language; others go to the handler before
    return app


def forwarding(trusted_proxies: list[str]) -> tuple[bool, str]:
    """uvicorn believes X-Forwarded-For/-Proto only from these addresses. Its own default trusts loopback
    (and $FORWARDED_ALLOW_IPS), which let any local process, or a proxy the operator did not name, pick the
    client IP the auth rate limiter counts: so nothing is trusted unless ``api.trusted_proxies`` says so."""
    return bool(trusted_proxies), ",".join(trusted_proxies)  # (proxy_headers, forwarded_allow_ips)


class _Server(uvicorn.Server):
    """uvicorn whose 0.1 s main-loop tick says READY=1 once listening (and pings when there is no ingest)."""

    def __init__(self, notifier: Notifier, ping: bool, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.notifier, self.ping, self.ready_sent = notifier, ping, False

    async def on_tick(self, counter: int) -> bool:
        if not self.ready_sent:
            self.ready_sent = True
            self.notifier.ready("API listening")
        if self.ping:
            self.notifier.watchdog()
        return await super().on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.notifier.stopping()
        await super().shutdown(sockets)
        # uvicorn re-raises a captured SIGTERM once run() returns, which would kill the process before
        # serve() finishes the ingest batch in hand and closes the store; the signal has been handled.
        captured = getattr(self, "_captured_signals", None)
        if isinstance(captured, list):
            captured.clear()


def serve(settings: GatewaySettings, stop: threading.Event | None = None) -> int:
    store = open_store(settings.db_url)  # 1. storage, migrations applied
    ensure_identity(settings)  # the plant's did:web keyring: /.well-known/did.json and signed evidence
    metrics = GatewayMetrics()
    notifier = Notifier()  # systemd Type=notify: ready once the API listens; the ingest loop pings the watchdog
    consumer = Consumer(settings, store, metrics) if settings.consume else None  # 2. MQTT ingest
    if consumer:
        consumer.on_tick = notifier.watchdog
        consumer.start()
    app = create_app(settings, store, consumer, metrics)  # 3. REST API + dashboard
    if settings.upload.enabled:  # 3b. the upload outbox, delivered in the background (gateway/upload/worker.py)
        from gateway.upload.worker import UploadWorker

        app.state.uploads = UploadWorker(settings, store, metrics.registry).start()
    heap = settle_heap()  # start-up is over: its objects leave the cyclic GC's walks (gateway/ingest/heap.py)
    proxy_headers, forwarded_allow_ips = forwarding(settings.api.trusted_proxies)
    server = _Server(notifier, ping=consumer is None, config=uvicorn.Config(
        app, host=settings.api.host, port=settings.api.port, log_level="warning", lifespan="off",
        timeout_graceful_shutdown=5, proxy_headers=proxy_headers, forwarded_allow_ips=forwarded_allow_ips))
    if stop is not None:
        def exit_on_stop() -> None:
            stop.wait()
            server.should_exit = True

        threading.Thread(target=exit_on_stop, daemon=True).start()
    log.info("gateway %s: API on http://%s:%s/ (docs at /docs), store %s", settings.worker_id,
             settings.api.host, settings.api.port, settings.db_url)
    server.run()  # 4. until SIGTERM/SIGINT (uvicorn handles the signals; STOPPING=1 at its shutdown)
    if consumer:  # 5. finish the batch in hand; unacked messages are redelivered to the next worker
        consumer.stop()
    if app.state.uploads:  # the delivery in hand ends (or its lease runs out and another worker sends it)
        app.state.uploads.stop()
    store.close()
    release_heap(heap)
    return 0

