"""The gateway's ``screening.br_threshold_ppm`` applies to every path that issues evidence: the API (tested
in test_screening), `junkan gateway evidence` (--config / --set) and the upload worker's publications. The
expected status is re-derived from the stored lot's Br maximum against the configured threshold."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from gateway.evidence.keys import generate
from gateway.settings import GatewaySettings
from gateway.upload import outbox
from gateway.upload.sender import register_webhook
from gateway.upload.worker import UploadWorker


def stored_br_max(db: Any, lot_id: str) -> float:
    """The lot's XRF Br maximum as the store holds it (measurement JSON), not as any exporter reads it."""
    body = db.scalar("SELECT measurement FROM lots WHERE lot_id = ?", (lot_id,))
    doc = json.loads(body) if isinstance(body, str) else body
    return float(doc["contaminants"]["Br"]["max_ppm"])


def br_cause(screening: dict[str, Any]) -> bool:
    """The screening names XRF Br above its threshold as a cause (the status may then be cleared by a lab)."""
    return any(c.startswith("XRF Br") and "screening threshold" in c for c in screening["causes"])


def test_cli_evidence_uses_the_settings_threshold(plant: dict[str, Any], gateway_db_url: str, tmp_path: Path,
                                                  junkan: Any) -> None:
    br_max = stored_br_max(plant["store"].db, "PP-OUT-1")
    strict = br_max - 30.0  # a plant that screens stricter than the 2000 mg/kg default
    default = junkan("gateway", "evidence", "PP-OUT-1", "--db", gateway_db_url)
    assert default.returncode == 0, default.stderr
    assert br_cause(json.loads(default.stdout)["screening"]) is (br_max > 2000.0) is False
    by_set = junkan("gateway", "evidence", "PP-OUT-1", "--db", gateway_db_url, "--set",
                    f"screening.br_threshold_ppm={strict:g}")
    assert by_set.returncode == 0, by_set.stderr
    sc = json.loads(by_set.stdout)["screening"]
    assert br_cause(sc) is (br_max > strict) is True and sc["br_threshold_ppm"] == strict
    config = tmp_path / "gateway.yaml"
    config.write_text(f"screening:\n  br_threshold_ppm: {strict:g}\n", encoding="utf-8")
    by_file = junkan("gateway", "evidence", "PP-OUT-1", "--db", gateway_db_url, "--config", str(config))
    assert br_cause(json.loads(by_file.stdout)["screening"]) is True
    looser = junkan("gateway", "evidence", "PP-OUT-1", "--db", gateway_db_url, "--set",
                    "screening.br_threshold_ppm=5000")
    assert looser.returncode == 2 and "br_threshold_ppm" in looser.stderr  # never looser than 2000


@pytest.mark.parametrize("threshold", [None, 150.0])
def test_upload_worker_publishes_with_the_settings_threshold(plant: dict[str, Any], tmp_path: Path,
                                                             threshold: float | None) -> None:
    generate(tmp_path / "keys", {"name": "Plant A", "id": "did:web:plant-a.example"})
    db = plant["store"].db
    db.execute("UPDATE lots SET recycler = 'recycler-a' WHERE lot_id = 'PP-OUT-1'")
    register_webhook(db, "recycler-a", "http://127.0.0.1:9/hook", "s3cret-for-recycler-a")
    settings = GatewaySettings(db_url="sqlite:///unused.db", consume=False,
                               screening={} if threshold is None else {"br_threshold_ppm": threshold},
                               upload={"enabled": True, "publish_on_close": True, "capture_url": "http://127.0.0.1:9"})
    worker = UploadWorker(settings, plant["store"], keys_dir=tmp_path / "keys")
    assert "PP-OUT-1" in worker.queue_closed_lots()
    hook = next(r for r in outbox.rows(db) if r.kind == "webhook")
    jws = json.loads(hook.payload)["jws"]
    claims = json.loads(base64.urlsafe_b64decode(jws.split(".")[1] + "=="))
    sc = claims["credentialSubject"]["screening"]
    want = 2000.0 if threshold is None else threshold
    assert sc["br_threshold_ppm"] == want
    assert br_cause(sc) is (stored_br_max(db, "PP-OUT-1") > want)
