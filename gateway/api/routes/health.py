"""Liveness and metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.api.deps import StoreDep

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The gateway is up and its store answers")
def healthz(store: StoreDep, request: Request) -> dict[str, Any]:
    consumer = request.app.state.commands
    return {"status": "ok", "store": store.counts(),
            "mqtt_connected": bool(consumer and getattr(consumer, "connected", None) and consumer.connected.is_set())}


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request) -> Response:
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
