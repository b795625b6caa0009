"""Dashboard pages for what only the API and CLI had: composition records, requirement specs, the
recycled-content report and dead letters. Read-only views; changes go through the REST API (the report's
CSV link, the API's import/PUT routes), so the dashboard keeps no write path of its own.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from gateway.auth import PrincipalDep
from gateway.composition.repo import list_products
from gateway.dashboard import charts
from gateway.dashboard.router import render
from gateway.ingest.validate import REASONS
from gateway.specs.repo import list_specs
from gateway.traceability.report import PeriodError, recycled_content
from junkan.core.names import NAME_PATTERN

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 100  # dead letters per page
TRENDS_POLL_S = 10.0  # the Trends page asks for fresh charts this often (a closed lot appears within it)


@router.get("/composition")
def composition_page(request: Request, principal: PrincipalDep,
                     q: str | None = Query(default=None, max_length=100)) -> Response:
    rows = list_products(request.app.state.store.db, q or None, limit=500)
    return render(request, principal, "composition.html", products=rows, q=q or "")


@router.get("/specs")
def specs_page(request: Request, principal: PrincipalDep) -> Response:
    template = json.dumps({"spec_id": "pp-buyer-1", "buyer": "", "material": "PP", "min_purity": 0.95,
                           "limits": [{"analyte": "Br", "max_ppm": 1000}]}, ensure_ascii=False, indent=1)
    return render(request, principal, "specs.html", specs=list_specs(request.app.state.store.db),
                  spec_template=template)


@router.get("/report")
def report_page(request: Request, principal: PrincipalDep, start: str | None = Query(default=None, max_length=40),
                end: str | None = Query(default=None, max_length=40)) -> Response:
    """Recycled-content report of a period (default: the last 30 days); CSV from the API route."""
    now = datetime.now(UTC).replace(microsecond=0)
    error, report = None, None
    try:
        t1 = datetime.fromisoformat(end) if end else now + timedelta(days=1)
        t0 = datetime.fromisoformat(start) if start else t1 - timedelta(days=31)
        t0, t1 = (t if t.tzinfo else t.replace(tzinfo=UTC) for t in (t0, t1))
        store = request.app.state.store
        report = recycled_content(store.db, store, t0, t1)
    except (ValueError, PeriodError):
        error = "bad_period"
        t0, t1 = now - timedelta(days=30), now + timedelta(days=1)
    return render(request, principal, "report.html", report=report, error=error,
                  start=t0.date().isoformat(), end=t1.date().isoformat())


@router.get("/trends")
def trends_page(request: Request, principal: PrincipalDep,
                part: str | None = Query(default=None, pattern="^charts$")) -> Response:
    """Purity, mass, throughput, contaminant and device trends of the last closed lots, drawn on the server;
    ``part=charts`` answers the charts alone (an HTML fragment), which the open page polls and swaps in, so
    a lot closed meanwhile appears without a reload."""
    store = request.app.state.store
    trend = charts.trend_charts(store.list_lots(status="closed", limit=1000), store.list_agents())
    if part == "charts":
        response = render(request, principal, "trends_charts.html", trend=trend)
        response.headers["Cache-Control"] = "no-store"
        return response
    poll_s = float(getattr(request.app.state, "trends_poll_s", TRENDS_POLL_S))
    return render(request, principal, "trends.html", poll_s=poll_s, trend=trend)


@router.get("/dead-letters")
def dead_letters_page(request: Request, principal: PrincipalDep,
                      q: str | None = Query(default=None, max_length=100),
                      reason: str | None = Query(default=None, max_length=40),
                      agent: str | None = Query(default=None, pattern=NAME_PATTERN),
                      before_id: int | None = Query(default=None, ge=1, le=2**63 - 1)) -> Response:
    """Refused payloads, newest first: filter by reason code and agent, page by id, replay (engineers)."""
    code = reason if reason in REASONS else None
    rows = request.app.state.store.dead_letters(PAGE_SIZE + 1, before_id=before_id, reason=code, agent=agent,
                                                include_payload=False)
    older = rows[PAGE_SIZE - 1]["id"] if len(rows) > PAGE_SIZE else None
    rows = rows[:PAGE_SIZE]
    if q:
        rows = [r for r in rows if q in r["topic"] or q in r["reason"]]
    return render(request, principal, "dead_letters.html", rows=rows, q=q or "", reasons=REASONS, reason=code or "",
                  agent=agent or "", older=older)


@router.get("/uploads")
def uploads_page(request: Request, principal: PrincipalDep,
                 state: str | None = Query(default=None, pattern="^(pending|polling|done|failed)$")) -> Response:
    """The upload outbox: counts per state, the newest rows (failed ones first), what the worker skipped."""
    from gateway.upload import outbox

    db = request.app.state.store.db
    counts = outbox.counts(db)
    total = sum(counts.values())
    rows = outbox.rows(db, state, limit=200, offset=max(0, (counts[state] if state else total) - 200))
    rows.sort(key=lambda r: (r.state != "failed", -r.id))
    worker = request.app.state.uploads
    return render(request, principal, "uploads.html", counts=counts, rows=rows, state=state or "",
                  settings=request.app.state.settings.upload, running=worker is not None,
                  skipped=sorted(worker.skipped.items()) if worker is not None else [])
