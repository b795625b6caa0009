"""The one authorization dependency every route runs (installed app-wide), and its wiring.

Order: public route? -> credentials (Bearer token, else dashboard session cookie) -> open-mode fallback
-> role rule (``policy.allowed``) -> recycler tenancy on routes naming a ``{lot_id}``. Failed
credentials count against the client IP; past the limit every credentialed request gets 429.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from gateway.auth.policy import allowed, is_public, lot_scoped
from gateway.auth.ratelimit import FailureLimiter
from gateway.auth.repo import AuthRepo, Principal
from gateway.settings import GatewaySettings, is_loopback

SESSION_COOKIE = "junkan_session"
OPEN_ADMIN = Principal("open-mode", "admin", via="open")
NOBODY = Principal("", "", via="none")
_LOCAL_HOSTS = {"localhost", "testserver"}  # testserver: Starlette's TestClient, never a socket


@dataclass
class AuthState:
    """Per-app auth collaborators (on ``app.state.auth``)."""

    repo: AuthRepo
    limiter: FailureLimiter


class LoginRequired(Exception):
    """A dashboard page was asked for without a session: redirect to the login form."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def install(app: FastAPI) -> None:
    settings: GatewaySettings = app.state.settings
    app.state.auth = AuthState(AuthRepo(app.state.store.db), FailureLimiter(settings.auth.max_failures_per_minute))

    async def to_login(request: Request, exc: Exception) -> Response:
        target = exc.next_path if isinstance(exc, LoginRequired) else "/"
        return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)

    app.add_exception_handler(LoginRequired, to_login)


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _host_is_local(request: Request) -> bool:
    """DNS-rebinding guard for open mode: the browser must have addressed this machine by a local name."""
    host = urlsplit(f"//{request.headers.get('host', '')}").hostname or ""
    return host in _LOCAL_HOSTS or is_loopback(host)


def _route_path(request: Request) -> str:
    route = request.scope.get("route")
    return str(getattr(route, "path", request.url.path))


def identify(request: Request) -> Principal | None:
    """The caller behind the request's credentials; None when it carries none (or a stale session)."""
    auth: AuthState = request.app.state.auth
    header = request.headers.get("authorization")
    if header is not None:
        ip = client_ip(request)
        wait = auth.limiter.blocked_for(ip)
        if wait > 0:
            raise HTTPException(429, "too many authentication failures; try again later",
                                headers={"Retry-After": str(int(wait) + 1)})
        scheme, _, token = header.partition(" ")
        principal = auth.repo.authenticate(token) if scheme.lower() == "bearer" else None
        if principal is None:
            auth.limiter.record_failure(ip)
            raise HTTPException(401, "invalid or revoked token", headers={"WWW-Authenticate": "Bearer"})
        return principal
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        principal = auth.repo.session(cookie)
        if principal is not None and request.method not in ("GET", "HEAD", "OPTIONS"):
            _check_same_origin(request)
        return principal
    return None


def _check_same_origin(request: Request) -> None:
    """Cookie-authenticated writes must come from our own pages (SameSite=Strict is the first line)."""
    origin = request.headers.get("origin")
    host = request.headers.get("host", "")
    if origin is None or urlsplit(origin).netloc != host:
        raise HTTPException(403, "cross-origin request refused")


def authorize(request: Request) -> Principal:
    """Authenticate and authorize this request; the principal is cached for the handler's own use."""
    settings: GatewaySettings = request.app.state.settings
    path = _route_path(request)
    if is_public(path) or (path == "/metrics" and settings.auth.metrics == "open"):
        try:
            return identify(request) or NOBODY
        except HTTPException:
            return NOBODY  # a public page stays reachable with a bad cookie/token
    principal = identify(request)
    if principal is None:
        if settings.auth.mode == "open" and _host_is_local(request):
            principal = OPEN_ADMIN
        elif path.startswith("/api/") or path == "/metrics":
            raise HTTPException(401, "authentication required", headers={"WWW-Authenticate": "Bearer"})
        else:
            raise LoginRequired(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    if not allowed(principal.role, request.method, path):
        raise HTTPException(403, f"role {principal.role!r} may not {request.method} {path}")
    tenant = principal.tenant
    if tenant is not None and lot_scoped(path):
        lot_id = str(request.path_params.get("lot_id", ""))
        if request.app.state.store.get_lot(lot_id, recycler=tenant) is None:
            raise HTTPException(404, f"lot {lot_id!r} not found")  # same answer as a lot that does not exist
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(authorize)]


def login(request: Request, token: str) -> Principal:
    """Check a token typed into the login form or posted to the API (failures rate-limited per IP)."""
    auth: AuthState = request.app.state.auth
    ip = client_ip(request)
    wait = auth.limiter.blocked_for(ip)
    if wait > 0:
        raise HTTPException(429, "too many authentication failures; try again later",
                            headers={"Retry-After": str(int(wait) + 1)})
    principal = auth.repo.authenticate(token)
    if principal is None:
        auth.limiter.record_failure(ip)
        raise HTTPException(401, "invalid or revoked token")
    return principal


def start_session(request: Request, response: Response, principal: Principal) -> None:
    """Set the dashboard session cookie: HttpOnly (no script reads it), SameSite=Strict (no cross-site use)."""
    settings: GatewaySettings = request.app.state.settings
    value = request.app.state.auth.repo.create_session(principal, settings.auth.session_ttl_s)
    response.set_cookie(SESSION_COOKIE, value, max_age=settings.auth.session_ttl_s, httponly=True,
                        samesite="strict", secure=request.url.scheme == "https", path="/")


def end_session(request: Request, response: Response) -> None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        request.app.state.auth.repo.end_session(cookie)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
