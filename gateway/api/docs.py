"""Swagger UI and ReDoc from files shipped in a Python package (``fastapi-offline``), never from a CDN.

Why: FastAPI's own /docs loads its JavaScript from a CDN, so on a plant network without internet it is a blank
page. Routes added with ``add_route`` (plain Starlette, like FastAPI's own docs routes): no auth dependency,
the same as before; the OpenAPI document itself stays where FastAPI serves it.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response

ASSETS = Path(fastapi_offline.__file__).resolve().parent / "static"
PREFIX = "/docs-assets"
MEDIA = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".png": "image/png"}
FILES = frozenset({"swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png"})


def install_docs(app: FastAPI) -> None:
    """/docs (Swagger UI), /redoc and their assets under /docs-assets/; create the app with docs_url=None."""
    openapi_url = app.openapi_url or "/openapi.json"

    async def swagger(request: Request) -> Response:
        return get_swagger_ui_html(openapi_url=openapi_url, title=f"{app.title} - API",
                                   swagger_js_url=f"{PREFIX}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{PREFIX}/swagger-ui.css",
                                   swagger_favicon_url=f"{PREFIX}/favicon.png",
                                   swagger_ui_parameters={"validatorUrl": None})  # no call to a validator host

    async def redoc(request: Request) -> Response:
        return get_redoc_html(openapi_url=openapi_url, title=f"{app.title} - ReDoc",
                              redoc_js_url=f"{PREFIX}/redoc.standalone.js", redoc_favicon_url=f"{PREFIX}/favicon.png",
                              with_google_fonts=False)

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in FILES:
            return PlainTextResponse("not found", status_code=404)
        return FileResponse(ASSETS / name, media_type=MEDIA[Path(name).suffix],
                            headers={"Cache-Control": "public, max-age=86400"})

    app.add_route("/docs", swagger, include_in_schema=False)
    app.add_route("/redoc", redoc, include_in_schema=False)
    app.add_route(PREFIX + "/{name}", asset, include_in_schema=False)
