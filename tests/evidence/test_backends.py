"""The traceability/evidence SQL on both stores: SQLite and PostgreSQL (the shared `store` fixture)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.evidence.exporters import EXPORTERS
from gateway.evidence.formats import produce
from gateway.evidence.keys import generate
from gateway.traceability.lineage import backward, forward_model
from gateway.traceability.repo import alarms
from gateway.traceability.report import record_claim, recycled_content
from gateway.upload.outbox import enqueue, rows
from tests.evidence.plant import T0, build_plant


@pytest.mark.parametrize("broken", [False, True])
def test_whole_story_on_each_backend(store: Any, tmp_path: Path, schemas: dict[str, Any], broken: bool) -> None:
    world = build_plant(store, break_balance=broken)
    db = world["db"]
    lin = backward(db, "PP-OUT-1", store)
    assert sum(m.attributed_kg for m in lin.models) == pytest.approx(lin.source_input_mass_kg, abs=1e-5)
    assert {m.model for m in lin.models} == {"AZ-32LX1", "KM-24O1B", "AZ-50LX3", "HR-300"}
    assert "PP-RECYCLATE-1" in {o["lot_id"] for o in forward_model(db, "HR-300", store)["output_lots"]}
    assert bool(alarms(db)) == broken
    generate(tmp_path / "keys")
    for fmt in EXPORTERS:
        data, _ = produce(store, "PP-OUT-1", fmt, tmp_path / "keys")
        if fmt in schemas:
            assert not list(schemas[fmt].iter_errors(json.loads(data))), fmt
    ev = json.loads(produce(store, "PP-OUT-1", "json", tmp_path / "keys")[0])
    assert ev["claims"]["blocked"] == broken
    rep = recycled_content(db, store, T0, T0 + timedelta(days=30))
    assert rep["ok"] != broken
    if not broken:
        row = rep["rows"][0]
        record_claim(db, store, row["manufacturer"], row["category"], T0, T0 + timedelta(days=30), row["claimable_kg"])
    first = enqueue(db, "epcis", "http://127.0.0.1:9/capture", "k1", "{}")
    assert enqueue(db, "epcis", "http://127.0.0.1:9/capture", "k1", "{}") == first and len(rows(db)) == 1
