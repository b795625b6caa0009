"""/docs and /redoc load every asset from the gateway itself (no CDN): a plant without internet sees them."""

from __future__ import annotations

import re

from tests.dashboard.seed import client_for


def test_api_docs_are_served_without_internet(gateway_store) -> None:  # type: ignore[no-untyped-def]
    client = client_for(gateway_store, "tokens")  # the docs need no credentials, as FastAPI's own did
    for page in ("/docs", "/redoc"):
        resp = client.get(page)
        assert resp.status_code == 200, page
        urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)""", resp.text)
        urls += re.findall(r"""url:\s*['"]([^'"]+)""", resp.text)
        assert urls, resp.text
        assert not [u for u in urls if "//" in u], urls  # nothing from another host
        for url in urls:
            if url.startswith("/docs-assets/"):
                asset = client.get(url)
                assert asset.status_code == 200 and len(asset.content) > 1000, url
    assert client.get("/openapi.json").json()["info"]["title"] == "junkan gateway"
    assert client.get("/docs-assets/../settings.py").status_code == 404
