"""Dashboard pages (server-rendered Jinja2, a little vanilla JS), the live SSE feed, login and locale.

Every page goes through the app-wide ``authorize`` dependency like the API does: same roles, same
recycler tenancy. Buttons call the REST API from the page, so the dashboard has no write path of its own.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, RedirectResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates

from gateway.api.deps import MAX_OFFSET
from gateway.auth import PrincipalDep
from gateway.auth.deps import end_session, login, start_session
from gateway.auth.policy import allowed
from gateway.auth.repo import Principal
from gateway.dashboard import extras, views
from gateway.dashboard.i18n import FORMAT_LABELS, LANGS, js_labels, negotiate, translator
from gateway.evidence.exporters import EXPORTERS
from gateway.specs import reason_text
from junkan.core.measurement_model import readable_measurement

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
SSE_LIFETIME_S = 50.0  # the browser reconnects by itself; a bounded stream never holds a shutdown up
SSE_POLL_S = 0.5

router = APIRouter(include_in_schema=False)


def _templates(request: Request) -> Jinja2Templates:
    templates = getattr(request.app.state, "dashboard_templates", None)
    if templates is None:
        templates = Jinja2Templates(directory=str(HERE / "templates"))
        request.app.state.dashboard_templates = templates
    return templates


def _lang(request: Request) -> str:
    return negotiate(request.cookies.get("lang"), request.headers.get("accept-language"))


def render(request: Request, principal: Principal, name: str, status_code: int = 200, **context: Any) -> Response:
    nav = [(path, key) for path, key in (("/lines", "lines"), ("/lots", "lots"), ("/trends", "trends"),
                                          ("/alarms", "alarms"),
                                          ("/unmatched", "unmatched"), ("/composition", "composition_nav"),
                                          ("/specs", "specs"), ("/report", "report"), ("/dead-letters", "dead_nav"),
                                          ("/uploads", "uploads_nav"))
           if principal.role and allowed(principal.role, "GET", path)]
    lang = _lang(request)
    return _templates(request).TemplateResponse(request, name, {
        "t": translator(lang), "lang": lang, "js_labels": js_labels(lang), "ja_formats": FORMAT_LABELS,
        "why": lambda plain, coded: reason_text.texts(plain, coded, lang),  # reasons in the page's language
        "why_one": lambda plain, coded: reason_text.one(plain, coded, lang),
        "why_join": lambda items: reason_text.join(items, lang),
        "principal": principal, "nav": nav, "path": request.url.path,
        "can": lambda method, route: bool(principal.role) and allowed(principal.role, method, route),
        "auth_mode": request.app.state.settings.auth.mode, **context}, status_code=status_code)


def _safe_next(value: str | None) -> str:
    """Only same-site paths: never an open redirect to another host."""
    return value if value and value.startswith("/") and not value.startswith("//") and "\\" not in value else "/"


# -- login, logout, locale, static -----------------------------------------------------------------
@router.get("/login")
def login_form(request: Request, principal: PrincipalDep, next: str = "/") -> Response:
    return render(request, principal, "login.html", next_path=_safe_next(next), error=None)


@router.post("/login")
async def login_submit(request: Request, principal: PrincipalDep) -> Response:
    form = parse_qs((await request.body()).decode("utf-8", "replace")[:4096])
    token, next_path = form.get("token", [""])[0], _safe_next(form.get("next", ["/"])[0])
    try:
        user = await run_in_threadpool(login, request, token)
    except HTTPException as exc:
        key = "too_many" if exc.status_code == 429 else "login_failed"
        return render(request, principal, "login.html", status_code=exc.status_code, next_path=next_path,
                      error=key)
    response = RedirectResponse(next_path, status_code=303)
    await run_in_threadpool(start_session, request, response, user)
    return response


@router.post("/logout")
def logout(request: Request, principal: PrincipalDep) -> Response:
    response = RedirectResponse("/login", status_code=303)
    end_session(request, response)
    return response


@router.get("/locale/{lang}")
def set_locale(lang: str, request: Request, principal: PrincipalDep, next: str = "/") -> Response:
    response = RedirectResponse(_safe_next(next), status_code=303)
    if lang in LANGS:
        response.set_cookie("lang", lang, max_age=365 * 86400, samesite="strict", httponly=True)
    return response


@router.get("/static/{name}")
def static(name: str, principal: PrincipalDep) -> Response:
    path = (STATIC / name).resolve()
    if path.parent != STATIC or not path.is_file():
        raise HTTPException(404, "not found")
    return FileResponse(path, headers={"Cache-Control": "no-cache"})


# -- pages -----------------------------------------------------------------------------------------
@router.get("/")
def home(principal: PrincipalDep) -> Response:
    target = "/lines" if principal.role and allowed(principal.role, "GET", "/lines") else "/lots"
    return RedirectResponse(target, status_code=303)


@router.get("/lines")
def lines_page(request: Request, principal: PrincipalDep) -> Response:
    store = request.app.state.store
    agents, devices = store.list_agents(), store.list_devices()
    now = datetime.now(UTC)
    return render(request, principal, "lines.html", lines=views.line_overview(agents, devices, now),
                  live=views.live_payload(agents, devices, now), has_commands=request.app.state.commands is not None)


@router.get("/events")
async def events(request: Request, principal: PrincipalDep) -> StreamingResponse:
    """Server-Sent Events: the Lines page's live mass, device states and backlog, sent when they change."""
    store = request.app.state.store

    def snapshot() -> dict[str, views.LinePayload]:
        return views.live_payload(store.list_agents(), store.list_devices(), datetime.now(UTC))

    async def stream() -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        lifetime = float(getattr(request.app.state, "sse_lifetime_s", SSE_LIFETIME_S))
        end, last, quiet_since = loop.time() + lifetime, None, loop.time()
        yield "retry: 1000\n\n"
        while loop.time() < end and not await request.is_disconnected():
            payload = await run_in_threadpool(snapshot)
            if payload != last:
                last, quiet_since = payload, loop.time()
                yield f"event: lines\ndata: {json.dumps(payload, separators=(',', ':'))}\n\n"
            elif loop.time() - quiet_since > 10:
                quiet_since = loop.time()
                yield ": keep-alive\n\n"
            await asyncio.sleep(SSE_POLL_S)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.get("/lots")
def lots_page(request: Request, principal: PrincipalDep, q: str | None = Query(default=None, max_length=100),
              line: str | None = Query(default=None, max_length=128),
              status: str | None = Query(default=None, pattern="^(open|closed)?$"),
              offset: int = Query(default=0, ge=0, le=MAX_OFFSET)) -> Response:
    lots = request.app.state.store.list_lots(q=q or None, line=line or None, status=status or None, limit=100,
                                             offset=offset, recycler=principal.tenant)
    return render(request, principal, "lots.html", lots=lots, q=q or "", line=line or "", status=status or "",
                  offset=offset, briefs={lot["lot_id"]: views.lot_brief(lot) for lot in lots})


@router.get("/lots/{lot_id}")
def lot_page(lot_id: str, request: Request, principal: PrincipalDep) -> Response:
    store = request.app.state.store
    lot = store.get_lot(lot_id, recycler=principal.tenant)
    if lot is None:
        raise HTTPException(404, f"lot {lot_id!r} not found")
    measurement = readable_measurement(lot.get("measurement"))
    staff = principal.tenant is None
    lineage = extras.lineage(store, lot_id) if staff else None
    checked = extras.screened(store, lot_id, request.app.state.settings.screening)
    return render(
        request, principal, "lot.html", lot=lot, measurement=measurement,
        weighings=store.lot_readings(lot_id, kind="weighing"),
        charts=[c for c in (views.composition_bars(measurement, "by_mass"),
                            views.composition_bars(measurement, "by_count")) if c],
        contaminants=views.contaminant_rows(measurement),
        product_models=measurement.product_models if measurement is not None else None,
        lot_devices=measurement.devices if measurement is not None else None,
        conformance=extras.conformance(store, lot) if staff else None,
        screening=checked.screening, ident_mismatches=checked.ident_mismatches, claims=checked.claims,
        lineage=lineage, lineage_graph=views.lineage_layout(lineage.walked if lineage else None),
        evidence_formats=list(EXPORTERS.values()) if extras.has_route(request.app, extras.EVIDENCE_ROUTE) else None,
    )


@router.get("/alarms")
def alarms_page(request: Request, principal: PrincipalDep) -> Response:
    store = request.app.state.store
    alarms = views.alarms(store.list_agents(), store.list_devices(), store.list_lots(limit=500),
                          extras.balance_alarms(store), datetime.now(UTC))
    dead = store.dead_letters(50) if allowed(principal.role, "GET", "/api/v1/dead-letters") else None
    return render(request, principal, "alarms.html", alarms=alarms, dead_letters=dead)


@router.get("/unmatched")
def unmatched_page(request: Request, principal: PrincipalDep) -> Response:
    rows = extras.unmatched(request.app.state.store)
    resolve = extras.RESOLVE_ROUTE if extras.has_route(request.app, extras.RESOLVE_ROUTE, "POST") else None
    return render(request, principal, "unmatched.html", rows=rows, resolve_route=resolve)
