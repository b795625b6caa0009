"""What schemathesis found, pinned: bodies are not coerced, query timestamps are ISO text, 405 names
every method of a path, and errors have the one declared shape."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.settings import GatewaySettings
from gateway.store.base import Store

T = "2026-03-02T08:00:00Z"


def client(store: Store, url: str) -> TestClient:
    return TestClient(create_app(GatewaySettings(consume=False, db_url=url), store), base_url="http://127.0.0.1")


def intake(**product: Any) -> dict[str, Any]:
    return {"lot_id": "IN-1", "received_at": T, "source_stream": "weee", "net_mass_kg": 10.0,
            "products": [{"model": "TV-1", **product}]}


def test_bodies_are_not_coerced(gateway_store: Store, gateway_db_url: str) -> None:
    with client(gateway_store, gateway_db_url) as api:
        assert api.post("/api/v1/process/intake", json=intake(mass_kg=False)).status_code == 422
        assert api.post("/api/v1/process/intake", json=intake(n_items="3")).status_code == 422
        assert api.post("/api/v1/process/intake", json=intake(n_items=True)).status_code == 422
        assert api.post("/api/v1/process/intake", json={**intake(), "received_at": 0}).status_code == 422
        spec = {"spec_id": "s1", "buyer": "B", "material": "PP"}
        assert api.put("/api/v1/specs/s1", json={**spec, "as_of": 0}).status_code == 422
        assert api.put("/api/v1/specs/s1", json={**spec, "min_purity": True}).status_code == 422
        # JSON's integers and dates as JSON has them are taken
        assert api.post("/api/v1/process/intake", json=intake(n_items=2.0, mass_kg=3)).status_code == 201
        assert api.put("/api/v1/specs/s1", json={**spec, "as_of": "2026-03-01"}).status_code == 200


def test_query_timestamps_are_iso_text(gateway_store: Store, gateway_db_url: str) -> None:
    with client(gateway_store, gateway_db_url) as api:
        assert api.get("/api/v1/process/steps", params={"until": "0.5"}).status_code == 422
        assert api.get("/api/v1/process/steps", params={"until": "1700000000"}).status_code == 422
        assert api.get("/api/v1/process/steps", params={"until": T}).status_code == 200


def test_paging_ids_beyond_int64_are_refused(gateway_store: Store, gateway_db_url: str) -> None:
    """Found by the all-checks run: before_id 2**63 reached SQLite (OverflowError, 500)."""
    with client(gateway_store, gateway_db_url) as api:
        assert api.get("/api/v1/dead-letters", params={"before_id": 2**63}).status_code == 422
        assert api.get("/api/v1/dead-letters", params={"before_id": 2**63 - 1}).status_code == 200


def test_405_names_every_method_of_the_path(gateway_store: Store, gateway_db_url: str) -> None:
    with client(gateway_store, gateway_db_url) as api:
        resp = api.request("OPTIONS", "/api/v1/users")
        assert resp.status_code == 405 and resp.headers["allow"] == "GET, POST"


def test_a_business_rule_refusal_has_the_declared_error_shape(gateway_store: Store, gateway_db_url: str) -> None:
    with client(gateway_store, gateway_db_url) as api:
        resp = api.get("/api/v1/process/reports/recycled-content", params={"start": T, "end": T})
        assert resp.status_code == 422 and isinstance(resp.json()["detail"], str)
        schema = api.get("/openapi.json").json()
        error = schema["paths"]["/api/v1/process/reports/recycled-content"]["get"]["responses"]["422"]
        assert error["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def _named(schema: dict[str, Any]) -> bool:
    """A schema that is one of the document's models, a list of them, or a choice between them."""
    if "$ref" in schema:
        return True
    if schema.get("type") == "array":
        return _named(schema.get("items", {}))
    return bool(schema.get("oneOf")) and all(_named(s) for s in schema["oneOf"])


def test_every_route_declares_what_it_returns(gateway_store: Store, gateway_db_url: str) -> None:
    """Issue 14 item 6: each operation's success answer has a schema for each media type; a JSON-only answer
    is one of the document's models (a route without a response model documents ``{}``, which this refuses)."""
    with client(gateway_store, gateway_db_url) as api:
        doc = api.get("/openapi.json").json()
    undeclared, operations = [], 0
    for path, methods in doc["paths"].items():
        for method, operation in methods.items():
            operations += 1
            success = {code: r for code, r in operation["responses"].items() if code.startswith("2")}
            content = {f"{code} {media}": body.get("schema") or {}
                       for code, r in success.items() for media, body in (r.get("content") or {}).items()}
            if not content:
                undeclared.append(f"{method.upper()} {path}: no success content")
            for where, schema in content.items():
                only_json = where.endswith(" application/json") and len(content) == 1
                if not schema or (only_json and not _named(schema)):
                    undeclared.append(f"{method.upper()} {path} {where}: {schema}")
    assert operations >= 55
    assert not undeclared, "\n".join(undeclared)
