"""Schemathesis against the API's OpenAPI: generated requests never produce a 5xx (core routes, open
mode), and with every check on (status codes, content types, response schemas, auth, headers) each
answer is one the document declares (every route, token mode). The live CLI run of the same checks:
``python -m tests.security.schemathesis_live``.

The evidence routes have their own, longer run (`make evidence-fuzz`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings

from gateway.app import create_app
from gateway.auth import AuthRepo
from gateway.ingest.validate import validate
from gateway.settings import GatewaySettings
from gateway.store.base import Incoming, Store
from junkan.core.topics import Kind
from tests.security.api_fuzz import no_server_errors
from tests.wire import dump, lot_message, reading_message, status, topic, weighings


class RecordingCommands:
    """The MQTT command boundary, recorded: the real sink looks up the line's agents the same way."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.sent: list[tuple[str, str]] = []

    def send_command(self, line: str, action: str, lot_id: str | None, issued_by: str | None) -> dict[str, Any]:
        if not self.store.agents_for_line(line):
            raise LookupError(f"no agent has announced line {line!r}")
        self.sent.append((line, action))
        return {"cmd_id": "x", "action": action, "lot_id": lot_id, "agents": ["agent-1"]}


def seed(store: Store) -> Store:
    incoming = [validate(topic(Kind.READING), dump(reading_message(1, weighings([0, 1]))), 10**6),
                validate(topic(Kind.LOT), dump(lot_message(2, "opened")), 10**6),
                validate(topic(Kind.LOT), dump(lot_message(3, "closed", net=412.5)), 10**6)]
    store.commit_batch([i for i in incoming if isinstance(i, Incoming)], [], [status()])
    return store


def test_core_api_never_answers_5xx(gateway_store: Store, gateway_db_url: str) -> None:
    store = seed(gateway_store)
    commands = RecordingCommands(store)
    app = create_app(GatewaySettings(consume=False, db_url=gateway_db_url), store, commands)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).include(
        path_regex="^/(healthz|api/v1/(lots|devices|agents|dead-letters|lines|users))")
    operations, calls = no_server_errors(  # the evidence/measurement bodies have their own fuzz runs
        schema, 15, skip=lambda path: "/evidence" in path or "/measurement" in path)
    assert operations >= 8
    assert any(code < 300 for code in calls) and any(code in (404, 422) for code in calls)


def test_huge_paging_offset_is_refused_not_a_server_error(gateway_store: Store, gateway_db_url: str) -> None:
    """Found by the fuzzer: offset 2**63 reached SQLite and raised OverflowError (500)."""
    from fastapi.testclient import TestClient

    store = seed(gateway_store)
    app = create_app(GatewaySettings(consume=False, db_url=gateway_db_url), store)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        assert client.get("/api/v1/lots", params={"offset": 2**63}).status_code == 422
        assert client.get("/lots", params={"offset": 2**63}).status_code == 422
        assert client.get("/api/v1/lots", params={"offset": 5}).status_code == 200


CONFIG = Path(__file__).with_name("schemathesis.toml")


def test_every_answer_is_the_documented_one(gateway_store: Store, gateway_db_url: str) -> None:
    """All checks, every route but the evidence/measurement bodies (their own fuzz runs), token mode."""
    store = seed(gateway_store)
    token = AuthRepo(store.db).add_user("st-admin-7f3a", "admin")  # a name generated paths will not hit
    settings_ = GatewaySettings.model_validate({"consume": False, "db_url": gateway_db_url,
                                                "auth": {"mode": "tokens", "max_failures_per_minute": 1_000_000}})
    app = create_app(settings_, store, RecordingCommands(store))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=schemathesis.Config.from_path(CONFIG))
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if "/evidence" in operation.path or "/measurement" in operation.path:
            continue
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            try:
                case.call_and_validate(headers={"Authorization": f"Bearer {token}"})
            except AssertionError as exc:  # schemathesis raises a FailureGroup (an AssertionError)
                failures.append(f"{case.method} {case.formatted_path}: {str(exc)[:400]}")

        check()
    assert operations >= 35
    assert not failures, "\n".join(failures[:20])


def test_openapi_declares_auth_and_errors(gateway_store: Store, gateway_db_url: str) -> None:
    app = create_app(GatewaySettings.model_validate({"consume": False, "db_url": gateway_db_url,
                                                     "auth": {"mode": "tokens"}}), gateway_store)
    doc = app.openapi()
    assert set(doc["components"]["securitySchemes"]) == {"bearerToken", "sessionCookie"}
    lot = doc["paths"]["/api/v1/lots/{lot_id}"]["get"]
    assert lot["security"] == [{"bearerToken": []}, {"sessionCookie": []}]
    assert {"200", "401", "403", "404", "422", "429"} <= set(lot["responses"])
    assert lot["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("LotWithWeighings")
    assert "security" not in doc["paths"]["/healthz"]["get"]
    assert "409" in doc["paths"]["/api/v1/users"]["post"]["responses"]
