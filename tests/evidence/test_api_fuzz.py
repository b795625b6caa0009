"""Schemathesis over the evidence/composition/process/specs routes: no input may cause a 5xx.

Slow (about two minutes): `pytest -m slow tests/evidence/test_api_fuzz.py`.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from gateway.app import create_app
from gateway.settings import GatewaySettings
from tests.evidence.plant import build_plant


@pytest.mark.slow
def test_no_server_error(gateway_store: Any, gateway_db_url: str) -> None:
    store = gateway_store
    build_plant(store)
    app = create_app(GatewaySettings(consume=False, db_url=gateway_db_url), store)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).include(
        path_regex="^/api/v1/(process|specs|composition)|/evidence")
    n_operations = 0
    calls: list[int] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        n_operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            resp = case.call(headers={"host": "127.0.0.1"})
            calls.append(resp.status_code)
            assert resp.status_code < 500, (case.method, case.formatted_path, resp.status_code, resp.text[:300])

        check()
    assert n_operations >= 20 and len(calls) >= 5 * n_operations
    assert any(code < 300 for code in calls) and any(code == 422 for code in calls)
