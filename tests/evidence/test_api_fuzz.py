"""Schemathesis over the evidence/composition/process/specs routes: no input may cause a 5xx.

Slow (about two minutes): `pytest -m slow tests/evidence/test_api_fuzz.py`.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis

from gateway.app import create_app
from gateway.settings import GatewaySettings
from tests.evidence.plant import build_plant
from tests.security.api_fuzz import no_server_errors


@pytest.mark.slow
def test_no_server_error(gateway_store: Any, gateway_db_url: str) -> None:
    store = gateway_store
    build_plant(store)
    app = create_app(GatewaySettings(consume=False, db_url=gateway_db_url), store)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).include(
        path_regex="^/api/v1/(process|specs|composition)|/evidence")
    n_operations, calls = no_server_errors(schema, 25)
    assert n_operations >= 20 and len(calls) >= 5 * n_operations
    assert any(code < 300 for code in calls) and any(code == 422 for code in calls)
