"""The exporters registry: one entry reaches the API, the CLI and the dashboard; a failing one says so."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.evidence.exporters import EXPORTERS, Exporter
from gateway.evidence.formats import ExportError, produce
from gateway.settings import GatewaySettings
from junkan.core.evidence import Evidence


def _csv(ev: Evidence, _key: object) -> bytes:
    rows = ["polymer,share"] + [f"{p},{m.share}" for p, m in getattr(ev.composition, "by_mass", {}).items()]
    return ("\n".join(rows) + "\n").encode()


def _broken(ev: Evidence, _key: object) -> bytes:
    raise ZeroDivisionError("the template divided by zero")


CSV = Exporter("csv", "text/csv", ".csv", _csv, "Polymer shares as CSV")
BROKEN = Exporter("broken", "text/plain", ".txt", _broken, "Always fails")


@pytest.fixture
def app(plant: dict[str, Any], gateway_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setenv("JUNKAN_KEYS_DIR", str(tmp_path / "keys"))
    monkeypatch.setitem(EXPORTERS, "csv", CSV)
    monkeypatch.setitem(EXPORTERS, "broken", BROKEN)
    settings = GatewaySettings(consume=False, db_url=gateway_db_url)
    return TestClient(create_app(settings, plant["store"]), base_url="http://127.0.0.1", client=("127.0.0.1", 50000))


def test_one_registry_entry_is_served_listed_and_offered(app: TestClient, plant: dict[str, Any], gateway_db_url: str,
                                                         tmp_path: Path, junkan: Any) -> None:
    resp = app.get("/api/v1/lots/PP-OUT-1/evidence?format=csv&download=true")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    assert resp.headers["content-disposition"] == 'attachment; filename="PP-OUT-1.csv"'
    assert resp.text.splitlines()[0] == "polymer,share" and "PP,0.962" in resp.text
    page = app.get("/lots/PP-OUT-1")
    assert page.status_code == 200 and 'data-format="csv"' in page.text
    assert [f for f in EXPORTERS if f'data-format="{f}"' not in page.text] == []  # every entry is offered
    out = tmp_path / "lot.csv"
    res = junkan("gateway", "evidence", "PP-OUT-1", "--db", gateway_db_url, "--format", "csv", "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert out.read_bytes() == resp.content


def test_a_failing_exporter_is_a_clear_error(app: TestClient, plant: dict[str, Any], gateway_db_url: str,
                                             junkan: Any) -> None:
    resp = app.get("/api/v1/lots/PP-OUT-1/evidence?format=broken")
    assert resp.status_code == 500
    assert resp.json()["detail"] == ("the broken exporter failed on lot 'PP-OUT-1': "
                                     "ZeroDivisionError('the template divided by zero')")
    with pytest.raises(ExportError) as err:
        produce(plant["store"], "PP-OUT-1", "broken")
    assert isinstance(err.value.__cause__, ZeroDivisionError)  # chained, not swallowed
    res = junkan("gateway", "evidence", "PP-OUT-1", "--db", gateway_db_url, "--format", "broken")
    assert res.returncode == 3 and "broken exporter failed on lot 'PP-OUT-1'" in res.stderr


def test_unknown_format_and_signing_without_key(app: TestClient) -> None:
    assert app.get("/api/v1/lots/PP-OUT-1/evidence?format=xml").status_code == 422
    resp = app.get("/api/v1/lots/PP-OUT-1/evidence?format=jws")
    assert resp.status_code == 409 and "no signing key" in resp.json()["detail"]
    spec = app.get("/openapi.json").json()["paths"]["/api/v1/lots/{lot_id}/evidence"]["get"]
    fmt = next(p for p in spec["parameters"] if p["name"] == "format")
    assert fmt["schema"]["enum"][:8] == ["pdf", "json", "html", "epcis", "untp-dcc", "untp-dte", "catenax", "jws"]
