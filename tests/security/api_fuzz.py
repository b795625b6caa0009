"""Generated requests for every operation of the API's OpenAPI document: none may answer 5xx. One copy for
the core routes' run (tests/security/test_api_schemathesis.py) and the evidence routes' longer one
(tests/evidence/test_api_fuzz.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings


def no_server_errors(schema: Any, max_examples: int, skip: Callable[[str], bool] = lambda path: False
                     ) -> tuple[int, list[int]]:
    """Runs ``max_examples`` generated requests per operation whose path ``skip`` keeps; a 5xx fails the test.
    Returns how many operations ran and every status code seen (so a caller can check the run reached them)."""
    operations, calls = 0, []
    for result in schema.get_all_operations():
        operation = result.ok()
        if skip(operation.path):
            continue
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=max_examples, deadline=None, suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            resp = case.call(headers={"host": "127.0.0.1"})
            calls.append(resp.status_code)
            assert resp.status_code < 500, (case.method, case.formatted_path, resp.status_code, resp.text[:300])

        check()
    return operations, calls
