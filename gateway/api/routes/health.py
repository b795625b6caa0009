"""Liveness, readiness and metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.api.deps import StoreDep

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The gateway is up and its store answers")
def healthz(store: StoreDep, request: Request) -> dict[str, Any]:
    consumer = request.app.state.commands
    return {"status": "ok", "store": store.counts(),
            "mqtt_connected": bool(consumer and getattr(consumer, "connected", None) and consumer.connected.is_set()),
            "versions": request.app.state.versions}


@router.get("/readyz", summary="Ready to serve: the store is at this code's schema (versions in the body)",
            responses={503: {"description": "Not ready: the body says why"}})
def readyz(request: Request) -> JSONResponse:
    versions = request.app.state.versions
    schema = versions["store_schema"]
    problems = [f"store migrations pending: {', '.join(schema['pending'])}"] if schema["pending"] else []
    if schema["unknown"]:
        problems.append("store has migrations this release does not know (a downgrade?): "
                        + ", ".join(schema["unknown"]))
    return JSONResponse({"ready": not problems, "problems": problems, "versions": versions},
                        status_code=503 if problems else 200)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request) -> Response:
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
