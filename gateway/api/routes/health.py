"""Liveness, readiness and metrics. None of them scans the database: a probe must answer while a lock
is held or a big store is scanned, and must not be a way to load it (they are unauthenticated)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.api.models import Health, Ready

router = APIRouter(tags=["health"])


def _ingest(request: Request) -> dict[str, Any]:
    """The consumer's verdict (gateway/ingest/health.py); an API-only gateway has none."""
    health = getattr(request.app.state.commands, "health", None)
    if health is None:
        return {"ready": True, "problems": [], "consumer": "off"}
    return {**health.verdict(), "consumer": "on"}


@router.get("/healthz", summary="The gateway process is alive (versions in the body; no database access)",
            response_model=Health)
def healthz(request: Request) -> dict[str, Any]:
    ingest = _ingest(request)
    return {"status": "ok", "mqtt_connected": ingest.get("mqtt_connected"), "versions": request.app.state.versions}


@router.get("/readyz", summary="Ready: the store is at this code's schema and ingest is moving (MQTT connected, "
            "no message waiting past ingest.stall_after_s)",
            responses={200: {"model": Ready},
                       503: {"model": Ready, "description": "Not ready: the body lists the problems"}})
def readyz(request: Request) -> JSONResponse:
    versions = request.app.state.versions
    schema = versions["store_schema"]
    problems = [f"store migrations pending: {', '.join(schema['pending'])}"] if schema["pending"] else []
    if schema["unknown"]:
        problems.append("store has migrations this release does not know (a downgrade?): "
                        + ", ".join(schema["unknown"]))
    ingest = _ingest(request)
    problems += ingest.pop("problems")
    ingest.pop("ready")
    return JSONResponse({"ready": not problems, "problems": problems, "ingest": ingest, "versions": versions},
                        status_code=503 if problems else 200)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response,
            responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}},
                             "description": "Prometheus text exposition format."}})
def metrics(request: Request) -> Response:
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
