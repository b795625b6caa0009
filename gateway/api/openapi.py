"""The OpenAPI document says how to authenticate and every error a route can answer.

Why here and not on each route: the errors follow from what the app-wide ``authorize`` dependency and
FastAPI do to any route (401/403/429 on every non-public one, 404 from tenancy on every ``{param}``
route, 422 on any parameter, 400 on an unreadable body), so they are added to every route from the
rules in one place; a route adds only its own (409, 413, 503). Security schemes: the Bearer token and
the dashboard's session cookie, as ``gateway.auth.deps`` reads them.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from gateway.api.models import Error
from gateway.auth.deps import SESSION_COOKIE
from gateway.auth.policy import is_public
from junkan.core.json_types import JsonObject

SECURITY_SCHEMES: JsonObject = {
    "bearerToken": {"type": "http", "scheme": "bearer",
                    "description": "An API token (`junkan gateway users add`), as `Authorization: Bearer <token>`."},
    "sessionCookie": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE,
                      "description": "Dashboard session from POST /api/v1/auth/login (HttpOnly, SameSite=Strict)."},
}
ERRORS: dict[int, str] = {
    400: "The request body could not be read.",
    401: "No valid token or session (missing, unknown, revoked or expired).",
    403: "The caller's role may not do this (or a cookie-authenticated write from another origin).",
    404: "Not found (a lot not addressed to the calling recycler is not found either).",
    409: "Conflicts with the stored state.",
    422: "A parameter or the body is invalid; `detail` lists each problem (or says it).",
    429: "Too many failed authentications from this address; retry after `Retry-After` seconds.",
}


def _public(app: FastAPI, path: str) -> bool:
    return is_public(path) or (path == "/metrics" and app.state.settings.auth.metrics == "open")


def error_codes(public: bool, path: str, operation: JsonObject) -> set[int]:
    """The error statuses an operation can answer besides the ones its route declares."""
    params = {p.get("in") for p in operation.get("parameters", [])}
    body = "requestBody" in operation
    codes: set[int] = set()
    if not public:
        codes |= {401, 403, 429}
    elif path == "/api/v1/auth/login":
        codes |= {401, 429}
    if "path" in params:
        codes.add(404)
    if params or body:
        codes.add(422)
    if body:
        codes.add(400)
    return codes


def _error_schema(schema: JsonObject) -> JsonObject:
    """``Error`` (and what it refers to) in the document's components; returns a reference to it."""
    found = Error.model_json_schema(ref_template="#/components/schemas/{model}")
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(found.pop("$defs", {}))
    components["Error"] = found
    components.pop("HTTPValidationError", None)  # replaced by Error, which also holds text details
    components.pop("ValidationError", None)
    return {"$ref": "#/components/schemas/Error"}


def document(app: FastAPI, schema: JsonObject) -> JsonObject:
    """Add security schemes, per-operation security and every error response to a built document."""
    ref = _error_schema(schema)
    schema["components"]["securitySchemes"] = SECURITY_SCHEMES
    open_mode = app.state.settings.auth.mode == "open"
    for path, operations in schema.get("paths", {}).items():
        public = _public(app, path)
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for code in sorted(error_codes(public, path, operation)):
                responses.setdefault(str(code), {"description": ERRORS[code]})
            for code, response in responses.items():
                # FastAPI's own 422 (HTTPValidationError) cannot hold a text detail: Error replaces it
                if code.startswith(("4", "5")) and (code == "422" or "content" not in response):
                    response["content"] = {"application/json": {"schema": ref}}
            if not public:
                # open mode: a caller on this machine without credentials acts as admin ({} = no credentials)
                operation["security"] = [*([{}] if open_mode else []), {"bearerToken": []}, {"sessionCookie": []}]
    return schema


def allowed_methods(app: FastAPI, path: str) -> set[str]:
    """Every method some route serves at ``path``."""
    methods: set[str] = set()
    for context in iter_route_contexts(app.routes):
        if context.path and context.methods and compile_path(context.path)[0].match(path):
            methods |= set(context.methods)
    return methods


def install(app: FastAPI) -> None:
    """Errors and security schemes in the document, and a truthful ``Allow`` on 405."""

    def openapi() -> JsonObject:
        if not app.openapi_schema:
            app.openapi_schema = document(app, get_openapi(title=app.title, version=app.version,
                                                           description=app.description, routes=app.routes))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    async def method_not_allowed(request: Request, exc: Exception) -> Response:
        """Starlette's 405 names only the methods of the first route matching the path; name all of them."""
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 405 and (methods := allowed_methods(app, request.url.path)):
            exc = StarletteHTTPException(405, exc.detail, headers={"Allow": ", ".join(sorted(methods))})
        return await http_exception_handler(request, exc)

    app.add_exception_handler(StarletteHTTPException, method_not_allowed)
