"""Liveness, readiness and metrics. None of them scans the database: a probe must answer while a lock
is held or a big store is scanned, and must not be a way to load it (they are unauthenticated)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.api.models import Health, IngestState, Ready
from gateway.store.version import Versions

router = APIRouter(tags=["health"])


def _ingest(request: Request) -> tuple[list[str], IngestState]:
    """Why ingest is not ready, and its state: the consumer's verdict (gateway/ingest/health.py) without its
    ready flag; an API-only gateway has none."""
    health = getattr(request.app.state.commands, "health", None)
    if health is None:
        return [], {"consumer": "off"}
    verdict = health.verdict()
    problems: list[str] = verdict.pop("problems")
    verdict.pop("ready")
    return problems, {**verdict, "consumer": "on"}


def _versions(request: Request) -> Versions:
    return request.app.state.versions  # type: ignore[no-any-return]


@router.get("/healthz", summary="The gateway process is alive (versions in the body; no database access)")
def healthz(request: Request) -> Health:
    _, ingest = _ingest(request)
    return Health(status="ok", mqtt_connected=ingest.get("mqtt_connected"), versions=_versions(request))


@router.get("/readyz", summary="Ready: the store is at this code's schema and ingest is moving (MQTT connected, "
            "no message waiting past ingest.stall_after_s)",
            responses={200: {"model": Ready},
                       503: {"model": Ready, "description": "Not ready: the body lists the problems"}})
def readyz(request: Request) -> JSONResponse:
    versions = _versions(request)
    schema = versions["store_schema"]
    problems = [f"store migrations pending: {', '.join(schema['pending'])}"] if schema["pending"] else []
    if schema["unknown"]:
        problems.append("store has migrations this release does not know (a downgrade?): "
                        + ", ".join(schema["unknown"]))
    ingest_problems, ingest = _ingest(request)
    problems += ingest_problems
    return JSONResponse({"ready": not problems, "problems": problems, "ingest": ingest, "versions": versions},
                        status_code=503 if problems else 200)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response,
            responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}},
                             "description": "Prometheus text exposition format."}})
def metrics(request: Request) -> Response:
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
