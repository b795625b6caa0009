"""Dashboard errors as pages in the user's language; the API keeps its JSON.

Why: a recycler following a link to /lines, or anyone opening a lot that is not theirs, got
``{"detail": ...}`` in the browser. A request for a dashboard path (not /api/, not the OpenAPI document)
that the browser asked as HTML now gets a page with the translated reason and a way back; API clients,
``fetch`` from dashboard.js (Accept: application/json) and curl keep the JSON body they had.
"""

from __future__ import annotations

import inspect

from fastapi import FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.auth.deps import NOBODY, OPEN_ADMIN, identify
from gateway.auth.repo import Principal

MESSAGES = {401: "login_required", 403: "forbidden", 404: "not_found", 429: "too_many"}
API_PREFIXES = ("/api/", "/openapi.json", "/docs", "/redoc", "/metrics", "/healthz", "/readyz", "/events", "/static/")


def wants_page(request: Request) -> bool:
    if request.url.path.startswith(API_PREFIXES):
        return False
    return "text/html" in request.headers.get("accept", "")  # a browser navigating; fetch() and curl keep JSON


def _principal(request: Request) -> Principal:
    """Who sees the error page (for the header): as authorized, else as identified, else nobody."""
    known = getattr(request.state, "principal", None)
    if isinstance(known, Principal):
        return known
    try:
        return identify(request) or (OPEN_ADMIN if request.app.state.settings.auth.mode == "open" else NOBODY)
    except HTTPException:
        return NOBODY


def install_error_pages(app: FastAPI) -> None:
    """Wraps the HTTPException handler installed before (install last): non-page requests go to it."""
    previous = app.exception_handlers.get(StarletteHTTPException, http_exception_handler)

    async def handler(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if not wants_page(request):
            response = previous(request, exc)
            return await response if inspect.isawaitable(response) else response
        from gateway.dashboard.router import render

        principal = _principal(request)
        return render(request, principal, "error.html", status_code=exc.status_code, code=exc.status_code,
                      message_key=MESSAGES.get(exc.status_code, "error_page"),
                      detail=str(exc.detail) if exc.status_code not in (401, 403) else None,
                      headers=getattr(exc, "headers", None))

    app.add_exception_handler(StarletteHTTPException, handler)
