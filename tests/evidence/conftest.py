"""Fixtures for the evidence tests: a populated store, schema validators with their format checkers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.evidence.plant import build_plant


@pytest.fixture
def plant(gateway_store: Any) -> dict[str, Any]:
    world = build_plant(gateway_store)
    world["store"] = gateway_store
    return world


def validator(shared: Path, name: str) -> jsonschema.protocols.Validator:
    """Validator for a bundled schema with the format checker of its draft (uri needs rfc3987)."""
    schema = json.loads((shared / "standards" / name).read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    checker = cls.FORMAT_CHECKER
    assert "uri" in checker.checkers and "date-time" in checker.checkers, "install rfc3987 and rfc3339-validator"
    return cls(schema, format_checker=checker)  # type: ignore[no-any-return]


@pytest.fixture
def schemas(shared_dir: Path) -> dict[str, jsonschema.protocols.Validator]:
    return {
        "epcis": validator(shared_dir, "epcis/EPCIS-JSON-Schema.json"),
        "untp-dcc": validator(shared_dir, "untp/untp-dcc-schema-0.6.1.json"),
        "untp-dte": validator(shared_dir, "untp/untp-dte-schema-0.6.1.json"),
        "untp-dpp": validator(shared_dir, "untp/untp-dpp-schema-0.6.1.json"),
        "catenax": validator(shared_dir, "catenax/SecondaryMaterialContentCalculated-schema.json"),
    }
