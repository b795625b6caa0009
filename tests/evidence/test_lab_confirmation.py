"""Lab confirmation (GC-MS, IEC 62321-6) of a POPs-suspect lot: typed entry, stored on either database,
attached through the API and the CLI; a passing one releases the claims, a failing one keeps them blocked
and makes the lot non_conformant. Expected verdicts are worked out here from the limits in the reference
(standards.md §6: POPs PBDE sum 350 mg/kg from 2025-12-30, 200 from 2027-12-30; RoHS PBB/PBDE 1000)."""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from gateway.app import create_app
from gateway.evidence.build import build_evidence
from gateway.settings import GatewaySettings
from gateway.specs.lab import LabConfirmation, LabConfirmationIn, lab_verdict
from gateway.specs.lab_repo import attach, confirmations
from gateway.specs.model import RequirementSpec
from tests.evidence.plant import LAB_CLEAN, build_plant

SPEC = RequirementSpec(spec_id="rohs-pops", buyer="any", material="PP")


def entry(**results: float | None) -> dict[str, Any]:
    """LAB_CLEAN with some groups replaced: a number is a measured value, None below a 5 mg/kg LOD."""
    doc = copy.deepcopy(LAB_CLEAN)
    rows = {r["analyte"]: r for r in doc["results"]}
    for analyte, value in results.items():
        rows[analyte] = ({"analyte": analyte, "below_lod": True, "lod_mg_kg": 5.0} if value is None
                         else {"analyte": analyte, "value_mg_kg": value})
    doc["results"] = list(rows.values())
    return doc


def stored(doc: dict[str, Any]) -> LabConfirmation:
    return LabConfirmation.model_validate({**doc, "confirmation_id": "LAB-1", "lot_id": "L-1", "entered_by": "t",
                                           "entered_at": "2026-06-01T00:00:00Z"})


def test_the_entry_is_strict_and_described() -> None:
    for name, field in {**LabConfirmationIn.model_fields, **LabConfirmation.model_fields}.items():
        assert field.description, name
    bad = [
        {**LAB_CLEAN, "results": [{"analyte": "decaBDE"}]},  # neither value nor below_lod
        {**LAB_CLEAN, "results": [{"analyte": "decaBDE", "below_lod": True}]},  # below LOD without the LOD
        {**LAB_CLEAN, "results": [{"analyte": "decaBDE", "value_mg_kg": "12"}]},  # text is not a number
        {**LAB_CLEAN, "results": [{"analyte": "octaBB-ish", "value_mg_kg": 1.0}]},  # not a congener group
        {**LAB_CLEAN, "report_sha256": "not-a-hash"},
        {**LAB_CLEAN, "analysed_on": 20260304},
        {**LAB_CLEAN, "extra": 1},
        entry() | {"results": entry()["results"] * 2},  # an analyte twice
    ]
    for doc in bad:
        with pytest.raises(ValidationError):
            LabConfirmationIn.model_validate(doc)


@pytest.mark.parametrize(("results", "day", "expected"), [
    ({}, date(2026, 6, 1), "pass"),  # 5 x LOD 5 = 25 <= 350, PBDE total 12, PBB < 5
    ({"decaBDE": 330.0}, date(2026, 6, 1), "pass"),  # 330 + 4 x 5 = 350 <= 350 (limit is inclusive)
    ({"decaBDE": 331.0}, date(2026, 6, 1), "insufficient"),  # measured 331 <= 350 but LODs could add 20
    ({"decaBDE": 360.0}, date(2026, 6, 1), "fail"),  # measured alone above 350
    ({"decaBDE": 190.0}, date(2027, 12, 30), "insufficient"),  # 190 < 200 measured, 190 + 4 x 5 = 210 > 200
    ({"decaBDE": 210.0}, date(2027, 12, 30), "fail"),  # 350 passed before 2027-12-30, 200 after
    ({"decaBDE": 210.0}, date(2027, 12, 29), "pass"),
    ({"PBB": 1200.0}, date(2026, 6, 1), "fail"),  # RoHS PBB 1000
])
def test_verdict_against_the_limits_in_force(results: dict[str, float], day: date, expected: str) -> None:
    doc = entry(**results)
    if "PBDE" not in results and any(k.endswith("BDE") for k in results):
        for r in doc["results"]:  # keep the stated PBDE total consistent with the congeners
            if r["analyte"] == "PBDE":
                r["value_mg_kg"] = max(12.0, sum(v for k, v in results.items() if k.endswith("BDE")))
    verdict = lab_verdict(stored(doc), day)
    assert verdict.result == expected, verdict.reasons


def test_rohs_sums_need_the_total_or_every_congener_group() -> None:
    doc = copy.deepcopy(LAB_CLEAN)
    doc["results"] = [r for r in doc["results"] if r["analyte"] != "PBDE"]  # only the five POPs groups left
    verdict = lab_verdict(stored(doc), date(2026, 6, 1))
    assert verdict.result == "insufficient" and any("octaBDE" in r for r in verdict.reasons)
    doc["results"] += [{"analyte": g, "below_lod": True, "lod_mg_kg": 5.0}
                       for g in ("monoBDE", "diBDE", "triBDE", "octaBDE", "nonaBDE")]
    assert lab_verdict(stored(doc), date(2026, 6, 1)).result == "pass"  # 10 x 5 = 50 <= 1000


def test_missing_groups_never_pass() -> None:
    doc = copy.deepcopy(LAB_CLEAN)
    doc["results"] = [r for r in doc["results"] if r["analyte"] not in ("PBB", "PBDE", "tetraBDE")]
    verdict = lab_verdict(stored(doc), date(2026, 6, 1))
    assert verdict.result == "insufficient"
    assert any("PBB not confirmed" in r for r in verdict.reasons)


def test_store_round_trip_on_either_database(gateway_store: Any) -> None:
    build_plant(gateway_store, lab_confirmed=False)
    conf = attach(gateway_store.db, "PP-OUT-1", LabConfirmationIn.model_validate(LAB_CLEAN), "alice")
    again = confirmations(gateway_store.db, "PP-OUT-1")
    assert again == [conf] and again[0].results[0].below_lod and again[0].entered_by == "alice"
    with pytest.raises(KeyError):
        attach(gateway_store.db, "NO-SUCH-LOT", LabConfirmationIn.model_validate(LAB_CLEAN), "alice")


def test_passing_lab_releases_the_claims_and_failing_keeps_them_blocked(gateway_store: Any) -> None:
    build_plant(gateway_store, lab_confirmed=False)
    db = gateway_store.db
    before = build_evidence(gateway_store, db, "PP-OUT-1", specs=[SPEC])
    assert before.screening is not None and before.screening.status == "pops_suspect" and before.claims.blocked
    attach(db, "PP-OUT-1", LabConfirmationIn.model_validate(LAB_CLEAN), "alice")
    ok = build_evidence(gateway_store, db, "PP-OUT-1", specs=[SPEC])
    assert ok.screening is not None and ok.screening.status == "lab_confirmed" and not ok.claims.blocked
    assert not any(g.startswith("screening:") for g in ok.data_gaps)
    checks = {c.analyte: c for c in ok.conformance[0].checks}
    # lab in preference to the Br bound: PBDE <= 5 x LOD 5 = 25 (POPs groups), PBB < LOD 5
    assert checks["PBDE"].value_ppm == 25.0 and checks["PBDE"].statistic == "lab sum (LOD counted)"
    assert checks["PBB"].value_ppm == 5.0 and checks["PBB"].result == "conformant"
    failing = entry(decaBDE=2400.0)
    failing["analysed_on"] = "2026-03-05"  # analysed after the clean one: the latest counts
    attach(db, "PP-OUT-1", LabConfirmationIn.model_validate(failing), "bob")
    bad = build_evidence(gateway_store, db, "PP-OUT-1", specs=[SPEC])
    assert bad.screening is not None and bad.screening.status == "lab_failed" and bad.claims.blocked
    assert any("lab confirmation" in r and "2400" in r for r in bad.claims.reasons)
    assert bad.conformance[0].result == "non_conformant"
    assert "lab PBDE 2400 mg/kg > 350 mg/kg" in " ".join(bad.conformance[0].reasons)


@pytest.fixture
def client(gateway_store: Any, gateway_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    build_plant(gateway_store, lab_confirmed=False)
    monkeypatch.setenv("JUNKAN_KEYS_DIR", str(tmp_path / "keys"))
    settings = GatewaySettings(consume=False, db_url=gateway_db_url)
    return TestClient(create_app(settings, gateway_store), base_url="http://127.0.0.1", client=("127.0.0.1", 50000))


def test_api_attach_and_list(client: TestClient) -> None:
    assert client.get("/api/v1/lots/PP-OUT-1/evidence").json()["claims"]["blocked"]
    resp = client.post("/api/v1/lots/PP-OUT-1/lab-confirmations", json=LAB_CLEAN)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["verdict"]["result"] == "pass" and body["screening"]["status"] == "lab_confirmed"
    assert body["confirmation"]["entered_by"] and body["confirmation"]["lot_id"] == "PP-OUT-1"
    listed = client.get("/api/v1/lots/PP-OUT-1/lab-confirmations").json()
    assert [c["confirmation_id"] for c in listed] == [body["confirmation"]["confirmation_id"]]
    assert not client.get("/api/v1/lots/PP-OUT-1/evidence").json()["claims"]["blocked"]
    assert client.post("/api/v1/lots/NOPE/lab-confirmations", json=LAB_CLEAN).status_code == 404
    assert client.post("/api/v1/lots/PP-OUT-1/lab-confirmations", json={**LAB_CLEAN, "x": 1}).status_code == 422


def test_cli_hashes_the_report(plant: dict[str, Any], gateway_db_url: str, tmp_path: Path, junkan: Any) -> None:
    report = tmp_path / "KAL-2026-0500.pdf"
    report.write_bytes(b"%PDF-1.4 lab report\n")
    doc = entry(decaBDE=900.0, PBDE=905.0)
    doc.pop("report_sha256")
    doc.pop("report_file")
    result = tmp_path / "result.json"
    result.write_text(json.dumps(doc))
    res = junkan("gateway", "lab-confirm", "PP-OUT-1", "--file", str(result), "--report", str(report),
                 "--db", gateway_db_url, "--by", "carol")
    assert res.returncode == 1 and "verdict fail" in res.stderr  # 900 mg/kg decaBDE > 350
    out = json.loads(res.stdout)
    assert out["confirmation"]["report_sha256"] == hashlib.sha256(report.read_bytes()).hexdigest()
    assert out["confirmation"]["report_file"] == report.name and out["screening"]["status"] == "lab_failed"
    no_report = junkan("gateway", "lab-confirm", "PP-OUT-1", "--file", str(result), "--db", gateway_db_url)
    assert no_report.returncode == 2 and "--report" in no_report.stderr
    unknown = junkan("gateway", "lab-confirm", "NOPE", "--file", str(result), "--report", str(report),
                     "--db", gateway_db_url)
    assert unknown.returncode == 2 and "not found" in unknown.stderr


def test_recycled_content_report_blocks_suspect_lots_until_a_lab_confirms(gateway_store: Any) -> None:
    from datetime import timedelta

    from gateway.traceability.report import recycled_content
    from tests.evidence.plant import T0

    build_plant(gateway_store, lab_confirmed=False)
    db = gateway_store.db
    start, end = T0, T0 + timedelta(days=30)
    rep = recycled_content(db, gateway_store, start, end, ("regeneration",))
    # PP-RECYCLATE-1's sources declare decaBDE in HIPS-FR covers: nothing of it is claimable
    assert [(lot["lot_id"], lot["blocked"], lot["screening"]) for lot in rep["lots"]] == [
        ("PP-RECYCLATE-1", True, "pops_suspect")]
    assert rep["rows"] and all(r["claimable_kg"] == 0 and r["blocked_kg"] == r["supplied_kg"] > 0 for r in rep["rows"])
    assert any("POPs-suspect" in w and "PP-RECYCLATE-1" in w for w in rep["warnings"])
    attach(db, "PP-RECYCLATE-1", LabConfirmationIn.model_validate(LAB_CLEAN), "alice")
    after = recycled_content(db, gateway_store, start, end, ("regeneration",))
    assert after["lots"][0]["screening"] == "lab_confirmed" and not after["lots"][0]["blocked"]
    assert sum(r["claimable_kg"] for r in after["rows"]) == pytest.approx(6.8)  # the regenerated lot's mass
    assert not any("POPs-suspect" in w for w in after["warnings"])
