"""Data from features other engineers build (evidence, lineage, specs, product matching), read if present.

Each reader checks at request time and returns None when the feature is not installed or its tables are
missing, so the dashboard shows "not available" instead of failing.
"""

from __future__ import annotations

import importlib
import logging
import re
from typing import Any

from fastapi import FastAPI
from starlette.routing import Match

log = logging.getLogger("junkan.dashboard")

EVIDENCE_ROUTE = "/api/v1/lots/{lot_id}/evidence"
EVIDENCE_FORMATS = ("pdf", "json", "html", "epcis", "untp-dcc", "untp-dte", "catenax", "jws")
RESOLVE_ROUTE = "/api/v1/composition/identifications/{agent}/{msg_id}/{idx}/resolve"


def has_route(app: FastAPI, template: str, method: str = "GET") -> bool:
    """Would ``method template`` reach a route? Asked through the router's own matching (``Route.matches``),
    so it holds whatever way routers were included."""
    path = re.sub(r"\{idx\}", "0", template)
    path = re.sub(r"\{[a-z_]+\}", "probe", path)
    scope = {"type": "http", "path": path, "method": method, "root_path": "", "headers": [], "query_string": b""}
    return any(route.matches(scope)[0] == Match.FULL for route in app.router.routes)


def _call(module: str, func: str, *args: Any, **kwargs: Any) -> Any:
    """Call ``module.func(*args)``; None when the module/function is absent or fails (logged)."""
    try:
        fn = getattr(importlib.import_module(module), func)
    except (ImportError, AttributeError):
        return None
    try:
        return fn(*args, **kwargs)
    except Exception:
        log.warning("dashboard: %s.%s failed", module, func, exc_info=True)
        return None


def _of(store: Any) -> Any:
    return store.db


def unmatched(store: Any, limit: int = 500) -> list[dict[str, Any]] | None:
    db = _of(store)
    if db is None:
        return None
    _call("gateway.composition.ident_repo", "match_pending", db, store)  # new idents / newly imported records
    rows = _call("gateway.composition.ident_repo", "list_matches", db, status="unmatched", limit=limit)
    return rows if isinstance(rows, list) else None


def balance_alarms(store: Any) -> list[dict[str, Any]]:
    db = _of(store)
    if db is None:
        return []
    try:
        return list(db.rows("SELECT scope, ref, raised_at, detail FROM balance_alarms WHERE cleared_at IS NULL "
                            "ORDER BY raised_at DESC LIMIT 200"))
    except Exception:  # table not migrated / other store
        return []


def lineage(store: Any, lot_id: str) -> dict[str, Any] | None:
    """The evidence engineer's backward lineage plus the step flows (edges) for drawing the graph."""
    db = _of(store)
    try:
        module = importlib.import_module("gateway.traceability.lineage")
    except ImportError:
        return None
    if db is None:
        return None
    try:
        result = module.backward(db, lot_id, store)
        steps = [s["step_id"] for s in result.get("steps", [])]
        marks = ",".join("?" * len(steps))
        flows = db.rows(f"SELECT step_id, direction, lot_id, mass_kg FROM process_flows WHERE step_id IN ({marks})",
                        steps) if steps else []
    except Exception as exc:  # no steps recorded for this lot, or tables missing
        return {"error": str(exc)[:200]}
    return {**result, "flows": flows}


def conformance(store: Any, lot: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The lot's conformance to every stored buyer spec (None when specs are not installed)."""
    db = _of(store)
    try:
        specs = importlib.import_module("gateway.specs.repo")
        check = importlib.import_module("gateway.specs.conformance")
    except ImportError:
        return None
    if db is None:
        return None
    from datetime import UTC, datetime

    try:
        return [check.conformance(spec, lot.get("measurement") or {}, datetime.now(UTC).date())
                for spec in specs.list_specs(db)]
    except Exception:
        log.warning("dashboard: conformance of %s failed", lot.get("lot_id"), exc_info=True)
        return None
