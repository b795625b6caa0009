"""docs/schemas/ is what the models produce, and the schemas accept real documents and refuse broken ones."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from junkan.core.ids import new_id
from junkan.core.messages import LotBody, LotMessage, LotSummary, dump
from junkan.core.schemas import DOCUMENTS, render, schema

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "docs" / "schemas"
RELEASE1 = json.loads((Path(__file__).parent / "data" / "measurement_release1.json").read_text())["lots"]


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_committed_schema_is_what_the_model_produces(name: str) -> None:
    path = COMMITTED / name
    assert path.is_file(), f"{path} missing: run `junkan schemas export`"
    assert path.read_text(encoding="utf-8") == render(name), f"{path} is stale: run `junkan schemas export`"


def test_no_stale_schema_files_and_the_check_command(tmp_path: Path, junkan: Any) -> None:
    assert sorted(p.name for p in COMMITTED.glob("*.json")) == sorted(DOCUMENTS)
    assert junkan("schemas", "export", "--check", "--out", str(COMMITTED)).returncode == 0
    assert junkan("schemas", "export", "--out", str(tmp_path)).returncode == 0
    assert all((tmp_path / n).read_text() == (COMMITTED / n).read_text() for n in DOCUMENTS)
    (tmp_path / next(iter(DOCUMENTS))).write_text("{}")
    (tmp_path / "junkan.old.v0.json").write_text("{}")
    res = junkan("schemas", "export", "--check", "--out", str(tmp_path))
    assert res.returncode == 1 and "differs" in res.stderr and "junkan.old.v0.json is not a known" in res.stderr


def _validator(name: str) -> jsonschema.protocols.Validator:
    doc = schema(name)
    cls = jsonschema.validators.validator_for(doc)
    cls.check_schema(doc)
    return cls(doc)  # type: ignore[no-any-return]


def test_release1_measurements_and_a_lot_message_validate_against_their_schemas() -> None:
    meas = _validator("junkan.measurement.v1.json")
    for lot in RELEASE1:
        assert list(meas.iter_errors(lot["measurement"])) == []
    summary = LotSummary(lot_id="L-1", site="s", line="l", agent="a", status="closed",
                         opened_at=datetime(2026, 1, 1, tzinfo=UTC), measurement=RELEASE1[0]["measurement"])
    msg = LotMessage(msg_id=new_id(), agent="a", session=new_id(), seq=1, sent_at=datetime(2026, 1, 1, tzinfo=UTC),
                     body=LotBody(event="closed", lot=summary))
    assert list(_validator("junkan.lot.v1.json").iter_errors(json.loads(dump(msg)))) == []
    assert list(_validator("junkan.lot-evidence.v2.json").iter_errors({"v": 2})) == []


def test_the_schemas_refuse_what_the_models_refuse() -> None:
    bad = dict(RELEASE1[0]["measurement"], method="junkan.measurement/2")
    assert list(_validator("junkan.measurement.v1.json").iter_errors(bad))
    extra = dict(RELEASE1[0]["measurement"], surprise=1)
    assert list(_validator("junkan.measurement.v1.json").iter_errors(extra))
