"""The commands a user runs, end to end on a real store (--gateway-db): evidence in every format, verify,
lineage, report.

Run in-process through ``junkan.cli.main`` (the real argument parsing and wiring); the separate-process
path is covered by test_signing.py and test_composition_import.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gateway.evidence.exporters import EXPORTERS


def test_cli_round_trip(plant: dict[str, Any], gateway_db_url: str, tmp_path: Path, junkan: Any,
                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUNKAN_KEYS_DIR", str(tmp_path / "keys"))  # PostgreSQL has no folder beside the db
    db = gateway_db_url
    keys = junkan("gateway", "keys", "generate", "--db", db, "--plant-name", "Plant A", "--did",
                  "did:web:plant-a.example", "--public-out", str(tmp_path / "plant_public_key.pem"))
    assert keys.returncode == 0, keys.stderr
    for fmt, entry in EXPORTERS.items():
        out = tmp_path / f"PP-OUT-1{entry.suffix}"
        res = junkan("gateway", "evidence", "PP-OUT-1", "--db", db, "--format", fmt, "--out", str(out))
        assert res.returncode == 0 and out.stat().st_size > 500, (fmt, res.stderr)
    ok = junkan("verify", str(tmp_path / "PP-OUT-1.jwt"), "--key", str(tmp_path / "plant_public_key.pem"))
    assert ok.returncode == 0, ok.stderr
    lin = junkan("gateway", "lineage", "PP-OUT-1", "--db", db)
    assert lin.returncode == 0 and json.loads(lin.stdout)["plants"] == ["Plant A", "Plant B"]
    fwd = junkan("gateway", "lineage", "--model", "AZ-50LX3", "--db", db)
    assert "PP-RECYCLATE-1" in {o["lot_id"] for o in json.loads(fwd.stdout)["output_lots"]}
    rep = junkan("gateway", "report", "recycled-content", "--db", db, "--from", "2026-03-01", "--to", "2026-04-01")
    assert rep.returncode == 0 and rep.stdout.startswith("period_start,") and "Hoshi Appliances" in rep.stdout
    long = junkan("gateway", "report", "recycled-content", "--db", db, "--from", "2026-01-01", "--to", "2027-01-01")
    assert long.returncode == 0 and "Hoshi Appliances" in long.stdout  # any period: no 3-month cap
    empty = junkan("gateway", "report", "recycled-content", "--db", db, "--fiscal-year", "2026")
    assert empty.returncode == 3 and "no process step ended" in empty.stderr  # the plant's steps are in March
    missing = junkan("gateway", "evidence", "NOPE", "--db", db)
    assert missing.returncode == 1 and "not found" in missing.stderr


def test_cli_process_records_intake_and_steps(gateway_store: Any, gateway_db_url: str, tmp_path: Path, junkan: Any
                                              ) -> None:
    doc = {"intake": [{"lot_id": "IN-7", "received_at": "2026-03-01T08:00:00Z", "source_stream": "weee",
                       "net_mass_kg": 50.0, "products": [{"model": "X-1", "n_items": 5}]}],
           "steps": [{"step_id": "S-7", "kind": "shredding", "started_at": "2026-03-01T09:00:00Z",
                      "ended_at": "2026-03-01T10:00:00Z", "inputs": [{"lot_id": "IN-7", "mass_kg": 50.0}],
                      "outputs": [{"lot_id": "F-7", "mass_kg": 49.5}]}]}
    path = tmp_path / "p.json"
    path.write_text(json.dumps(doc))
    db = gateway_db_url
    assert junkan("gateway", "process", str(path), "--db", db).returncode == 0
    lin = junkan("gateway", "lineage", "F-7", "--db", db)
    assert json.loads(lin.stdout)["models"][0]["attributed_kg"] == 50.0
    doc["steps"][0]["outputs"][0]["mass_kg"] = 40.0
    path.write_text(json.dumps(doc))
    bad = junkan("gateway", "process", str(path), "--db", db)
    assert bad.returncode == 1 and "violate" in bad.stderr
    path.write_text("{not json")
    assert junkan("gateway", "process", str(path), "--db", db).returncode == 2
