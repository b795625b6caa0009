"""An operator sees what runs: `junkan --version`, the gateway's /healthz and /readyz, the agent status.

Expected values come from the places that define them (package metadata, the message models' schema
literals, the migration list, the outbox's user_version), never restated here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from edge_agent.app import build_status
from edge_agent.config import load_config
from edge_agent.core import AgentCore
from edge_agent.publishing.outbox import SCHEMA_VERSION, SqliteOutbox
from gateway.app import create_app
from gateway.ingest.validate import validate
from gateway.settings import GatewaySettings
from gateway.store.schema import MIGRATIONS
from gateway.store.version import MIGRATION_SET
from junkan.core.ids import new_id
from junkan.core.messages import StatusMessage, dump
from junkan.core.topics import AgentTopics, Kind
from junkan.core.version import release, wire_schemas

REPO = Path(__file__).resolve().parents[2]


def test_junkan_version_names_release_and_schemas(junkan: Any) -> None:
    out = junkan("--version")
    assert out.returncode == 0
    lines = out.stdout.splitlines()
    assert lines[0] == f"junkan {release()}" and release() != "0+unknown"
    assert {"junkan.reading/1", "junkan.lot/1", "junkan.status/1"} <= set(wire_schemas())
    assert lines[1] == "wire schemas: " + " ".join(wire_schemas())
    assert lines[2] == f"gateway store schema: {MIGRATIONS[-1][0]} ({len(MIGRATIONS)} migrations)"
    assert lines[3] == f"agent outbox schema: {SCHEMA_VERSION}"


def test_readyz_reports_versions_and_refuses_a_store_from_a_newer_release(gateway_store: Any) -> None:
    client = TestClient(create_app(GatewaySettings(consume=False), gateway_store))
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["ready"] is True
    assert body["versions"]["release"] == release() and body["versions"]["wire"] == list(wire_schemas())
    assert body["versions"]["store_schema"]["version"] == MIGRATIONS[-1][0]
    assert client.get("/healthz").json()["versions"] == body["versions"]
    # a migration this code does not know: a newer release wrote the store (running this one is a downgrade)
    table = "_sqlite_migrations" if type(gateway_store).__name__ == "SqliteStore" else "junkan_migrations"
    gateway_store._rows(f"INSERT INTO {table} (migration_set, name, applied_at) VALUES (?, ?, ?) RETURNING name",
                        (MIGRATION_SET, "9999_from_the_future", "2030-01-01"))
    newer = TestClient(create_app(GatewaySettings(consume=False), gateway_store)).get("/readyz")
    assert newer.status_code == 503 and "9999_from_the_future" in newer.json()["problems"][0]


def test_agent_status_carries_versions_and_the_gateway_accepts_it(tmp_path: Path) -> None:
    config = load_config(REPO / "firmware_configs/lines/demo_line.yaml", {"outbox.path": str(tmp_path / "o.db")})
    topics = AgentTopics(config.site, config.line, config.agent)
    core = AgentCore(config, SqliteOutbox(tmp_path / "o.db"), topics, new_id())
    status = build_status(config, topics, core.session, "online", {}, core, core.outbox)
    assert status.versions is not None
    assert (status.versions.release, status.versions.wire, status.versions.outbox_schema) == (
        release(), list(wire_schemas()), SCHEMA_VERSION)
    seen = validate(topics.topic(Kind.STATUS), dump(status), 1_000_000)
    assert isinstance(seen, StatusMessage) and seen.versions == status.versions
