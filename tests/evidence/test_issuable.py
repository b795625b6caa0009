"""No evidence for an open lot, nor for a closed lot with no mass and no weighing: every format, the API
(409, in the reader's language), publish, and the CLI (exit 1, one line)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.evidence.exporters import EXPORTERS
from gateway.evidence.keys import generate
from gateway.settings import GatewaySettings
from gateway.store.base import Incoming
from junkan.core.topics import Kind, ParsedTopic
from tests.wire import lot_message


def add_lot(store: Any, lot_id: str, event: str, net: float = 0.0, weighings: int | None = None) -> None:
    msg = lot_message(1, event, lot_id=lot_id, net=net)
    if weighings is not None:
        lot = msg.body.lot.model_copy(update={"n_weighings": weighings})
        msg = msg.model_copy(update={"body": msg.body.model_copy(update={"lot": lot})})
    topic = ParsedTopic(site="site-a", line="line-1", agent="agent-1", kind=Kind.LOT)
    store.commit_batch([Incoming(topic, msg)], [], [])


@pytest.fixture
def client(plant: dict[str, Any], gateway_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setenv("JUNKAN_KEYS_DIR", str(tmp_path / "keys"))
    generate(tmp_path / "keys")
    add_lot(plant["store"], "OPEN-1", "opened")
    add_lot(plant["store"], "EMPTY-1", "closed", net=0.0, weighings=0)
    settings = GatewaySettings(consume=False, db_url=gateway_db_url)
    return TestClient(create_app(settings, plant["store"]), base_url="http://127.0.0.1", client=("127.0.0.1", 50000))


def test_api_refuses_open_and_empty_lots_in_every_format(client: TestClient) -> None:
    for fmt in EXPORTERS:
        resp = client.get(f"/api/v1/lots/OPEN-1/evidence?format={fmt}")
        assert resp.status_code == 409 and "still open" in resp.json()["detail"], (fmt, resp.text)
        resp = client.get(f"/api/v1/lots/EMPTY-1/evidence?format={fmt}")
        assert resp.status_code == 409 and "0 kg" in resp.json()["detail"], (fmt, resp.text)
    ja = client.get("/api/v1/lots/OPEN-1/evidence?format=pdf", headers={"Accept-Language": "ja,en;q=0.5"})
    assert ja.status_code == 409 and "処理中" in ja.json()["detail"]
    assert client.post("/api/v1/lots/OPEN-1/evidence/publish").status_code == 409
    assert client.post("/api/v1/lots/EMPTY-1/evidence/publish").status_code == 409
    assert client.get("/api/v1/lots/PP-OUT-1/evidence?format=jws").status_code == 200  # a closed lot still gets it


def test_cli_refuses_open_lot(plant: dict[str, Any], gateway_db_url: str, tmp_path: Path) -> None:
    if not gateway_db_url.startswith("sqlite:///"):
        pytest.skip("the CLI test reads a SQLite file")
    add_lot(plant["store"], "OPEN-2", "opened")
    db = gateway_db_url.removeprefix("sqlite:///")
    for fmt in ("json", "jws"):
        out = subprocess.run([sys.executable, "-m", "junkan.cli", "gateway", "evidence", "OPEN-2", "--db", db,
                              "--format", fmt, "--keys", str(tmp_path / "keys")], capture_output=True, text=True,
                             timeout=60)
        assert out.returncode == 1 and out.stdout == "", out
        assert out.stderr.strip().count("\n") == 0 and "still open" in out.stderr, out.stderr
