"""The tables in tests/conftest.py that keep timing-sensitive tests apart under `pytest -n` name real tests.

A renamed or moved test would silently lose its place (and run beside the others, or in the parallel pass)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ALONE_TESTS, ONE_AT_A_TIME_TESTS

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("prefix", sorted({*ONE_AT_A_TIME_TESTS, *ALONE_TESTS}))
def test_every_entry_names_a_test_that_exists(prefix: str) -> None:
    path, _, name = prefix.partition("::")
    target = ROOT / path
    assert target.exists(), f"{path} does not exist"
    if name:
        assert re.search(rf"^def {re.escape(name)}\(", target.read_text(encoding="utf-8"), re.M), prefix
    else:
        assert target.is_dir() or target.name.startswith("test_"), prefix


def test_alone_marks_are_there_when_m_selects() -> None:
    """`make unit` splits the suite with -m "not alone" / -m alone: the marks given at collection must be there
    before -m deselects (the hook runs first), or the alone tests would run in the parallel pass too."""
    files = sorted({prefix.partition("::")[0] for prefix in ALONE_TESTS})
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                          "-m", "alone", *files], capture_output=True, text=True, cwd=ROOT, timeout=120)
    collected = {line for line in out.stdout.splitlines() if "::" in line}
    assert collected == set(ALONE_TESTS), out.stdout[-2000:] + out.stderr[-2000:]
    assert not set(ONE_AT_A_TIME_TESTS) & set(ALONE_TESTS)  # a test is in one place, not both
