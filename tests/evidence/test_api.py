"""The evidence, composition, process and specs routes through the real app (open mode, loopback)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.evidence.keys import generate
from gateway.settings import GatewaySettings
from junkan.core.measurement import MeasurementParams
from tests.evidence.plant import DATA, MEASUREMENT


@pytest.fixture
def client(plant: dict[str, Any], gateway_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    store = plant["store"]
    monkeypatch.setenv("JUNKAN_KEYS_DIR", str(tmp_path / "keys"))  # PostgreSQL has no folder beside the db
    settings = GatewaySettings(consume=False, db_url=gateway_db_url)
    return TestClient(create_app(settings, store), base_url="http://127.0.0.1", client=("127.0.0.1", 50000))


def test_evidence_endpoint_every_format(client: TestClient, tmp_path: Path) -> None:
    assert client.get("/api/v1/lots/PP-OUT-1/evidence?format=jws").status_code == 409  # no key yet
    generate(tmp_path / "keys")
    for fmt, media in [("json", "application/json"), ("html", "text/html"), ("pdf", "application/pdf"),
                       ("epcis", "application/ld+json"), ("untp-dcc", "application/ld+json"),
                       ("untp-dte", "application/ld+json"), ("catenax", "application/json"),
                       ("jws", "application/vc+jwt")]:
        resp = client.get(f"/api/v1/lots/PP-OUT-1/evidence?format={fmt}&download=true")
        assert resp.status_code == 200 and resp.headers["content-type"].startswith(media), fmt
        assert "attachment" in resp.headers["content-disposition"]
    assert client.get("/api/v1/lots/NOPE/evidence").status_code == 404
    assert client.get("/api/v1/lots/PP-OUT-1/evidence?format=xml").status_code == 422


def test_process_steps_intake_lineage_balance(client: TestClient) -> None:
    intake = {"lot_id": "IN-9", "received_at": "2026-03-10T08:00:00Z", "source_stream": "elv",
              "net_mass_kg": 40.0, "products": [{"model": "HR-300", "n_items": 1, "mass_kg": 40.0}]}
    assert client.post("/api/v1/process/intake", json=intake).status_code == 201
    step = {"step_id": "SHR-9", "kind": "shredding", "started_at": "2026-03-10T09:00:00Z",
            "ended_at": "2026-03-10T10:00:00Z", "inputs": [{"lot_id": "IN-9", "mass_kg": 40.0}],
            "outputs": [{"lot_id": "FL-9", "mass_kg": 30.0}], "losses": [{"kind": "dust", "mass_kg": 1.0}]}
    resp = client.post("/api/v1/process/steps", json=step)
    assert resp.status_code == 201 and resp.json()["balance"]["ok"] is False
    assert [a["ref"] for a in client.get("/api/v1/process/alarms").json()] == ["SHR-9"]
    assert client.post("/api/v1/process/steps", json={**step, "extra": 1}).status_code == 422
    lin = client.get("/api/v1/process/lineage/lots/FL-9").json()
    assert lin["models"][0]["model"] == "HR-300" and lin["source_input_mass_kg"] == pytest.approx(40.0)
    fwd = client.get("/api/v1/process/lineage/models/HR-300").json()
    assert "FL-9" in {o["lot_id"] for o in fwd["output_lots"]}
    ev = client.get("/api/v1/lots/FL-9/evidence").json()
    assert ev["claims"]["blocked"] and ev["origin"]["streams_kg"] == {"elv": 40.0}
    bal = client.get("/api/v1/process/balance", params={"start": "2026-03-10T00:00:00Z",
                                                         "end": "2026-03-11T00:00:00Z"}).json()
    assert bal["ok"] is False and bal["failing_steps"] == ["SHR-9"]
    assert client.get("/api/v1/process/lineage/lots/NOPE").status_code == 404


def test_composition_routes_and_unmatched_queue(client: TestClient) -> None:
    body = (DATA / "classC_ipc1752a.xml").read_bytes()
    assert client.post("/api/v1/composition/import?filename=c.xml", content=body).status_code == 200
    hostile = client.post("/api/v1/composition/import?filename=x.xml", content=(DATA / "bad" / "xxe.xml").read_bytes())
    assert hostile.status_code == 422 and hostile.json()["detail"]["status"] == "rejected"
    assert "AZ-40LX2" in {p["model"] for p in client.get("/api/v1/composition/products").json()}
    assert client.get("/api/v1/composition/products/AZ-40LX2").json()["record"]["declaration_class"] == "C"
    (item,) = client.get("/api/v1/composition/unmatched").json()
    url = f"/api/v1/composition/identifications/{item['agent']}/{item['msg_id']}/{item['idx']}/resolve"
    assert client.post(url, json={"product_id": "NOPE"}).status_code == 422
    assert client.post(url, json={"product_id": "AZ-40LX2", "resolved_by": "op"}).json()["status"] == "resolved"
    assert client.get("/api/v1/composition/unmatched").json() == []
    assert client.get("/api/v1/composition/imports").json()[0]["status"] == "rejected"


def test_specs_and_conformance(client: TestClient) -> None:
    spec = {"spec_id": "pp-1", "buyer": "Car Parts Co", "material": "PP", "min_purity": 0.95,
            "limits": [{"analyte": "Br", "max_ppm": 100}]}
    put = client.put("/api/v1/specs/pp-1", json=spec).json()
    assert {x["analyte"] for x in put["effective_limits"]} >= {"Br", "Cd", "Pb", "PBDE"}
    assert client.put("/api/v1/specs/other", json=spec).status_code == 422
    res = client.get("/api/v1/specs/pp-1/conformance/PP-OUT-1").json()
    assert res["result"] == "non_conformant" and any("Br" in r for r in res["reasons"])
    ev = client.get("/api/v1/lots/PP-OUT-1/evidence").json()
    assert ev["conformance"][0]["spec_id"] == "pp-1"
    assert client.delete("/api/v1/specs/pp-1").status_code == 200
    assert client.get("/api/v1/specs/pp-1").status_code == 404


def test_measurement_route_returns_the_stored_document_or_a_recomputation(client: TestClient) -> None:
    stored = client.get("/api/v1/lots/PP-OUT-1/measurement")
    assert stored.status_code == 200 and stored.json() == MEASUREMENT  # as the agent sent it, key for key
    again = client.get("/api/v1/lots/PP-OUT-1/measurement?recompute=true").json()
    assert again["recomputed"] is True and again["params"] == MEASUREMENT["params"]
    assert again["n_weighings"] == 0  # the fixture stored no readings for it: nothing is invented
    assert client.get("/api/v1/lots/IN-1/measurement").json() == {}  # a lot without a measurement


def test_a_stored_measurement_this_gateway_cannot_read_is_said_not_guessed(client: TestClient,
                                                                           plant: dict[str, Any]) -> None:
    """A lot stored before measurements were typed (any JSON object was accepted then)."""
    db = plant["store"].db
    with db.tx():
        db.execute("UPDATE lots SET measurement = ? WHERE lot_id = ?", ('{"cu_pct": 0.12}', "PP-OUT-1"))
    resp = client.get("/api/v1/lots/PP-OUT-1/measurement")
    assert resp.status_code == 409 and "not a junkan.measurement/1 document" in resp.json()["detail"]
    again = client.get("/api/v1/lots/PP-OUT-1/measurement?recompute=true").json()
    assert again["recomputed"] is True and again["params"] == MeasurementParams().model_dump()
    ev = client.get("/api/v1/lots/PP-OUT-1/evidence").json()
    assert ev["composition"] == {"status": "insufficient_data"} and ev["contaminants"] == []
    assert "measurement: the stored measurement is not a junkan.measurement/1 document" in ev["data_gaps"]
    assert ev["lot"]["measurement_method"] is None
