"""Fault suite: SIGKILL the broker, the gateway and the agent (and hold the broker down) while a
device produces numbered readings; afterwards 0 lost, 0 duplicated, per-device order kept.

`make test` runs the short version; `make faults` runs the full one (100k readings, 5 kills of each,
a long outage) and prints one `faults:` line per run and one for the whole suite.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.faults.harness import FaultLine, Result

pytestmark = pytest.mark.integration
FULL = os.environ.get("JUNKAN_FAULTS_FULL") == "1"
TOTAL = int(os.environ.get("JUNKAN_FAULTS_READINGS", "100000" if FULL else "4000"))
KILLS = 5 if FULL else 1
RATE = 2000.0 if FULL else 800.0
SUITE: list[Result] = []


def run(tmp_path: Path, fault: str, kills: int, down_s: float = 1.0) -> Result:
    line = FaultLine(tmp_path, TOTAL, RATE, seed=hash(fault) % 1000)
    try:
        line.start()
        production_s = TOTAL / RATE
        gap = production_s / (kills + 1)
        for _ in range(kills):
            time.sleep(gap)
            getattr(line, f"kill_{fault}")(down_s)
        try:
            line.wait_complete(timeout=production_s + 60 + kills * 10)
        finally:
            print(f"\n[{fault}] source sessions: {line.source.sessions}")
        result = line.result()
    finally:
        line.stop()
    print(f"\n[{fault} x{kills}] {result.line()}")
    SUITE.append(result)
    return result


def check(result: Result) -> None:
    assert (result.lost, result.duplicated, result.order_violations) == (0, 0, 0), result.line()
    assert result.stored == result.produced


@pytest.mark.parametrize("fault", ["broker", "gateway", "agent"])
def test_sigkill_loses_and_duplicates_nothing(tmp_path: Path, fault: str) -> None:
    check(run(tmp_path, fault, KILLS))


def test_long_broker_outage_is_buffered_and_drained(tmp_path: Path) -> None:
    """A long outage, time-compressed: production goes on into the outbox for most of the run."""
    check(run(tmp_path, "broker", 1, down_s=(TOTAL / RATE) * 0.5))


def test_zz_suite_summary() -> None:
    """Runs last in this module: the whole suite's figure, as `make faults` reports it."""
    if not SUITE:
        pytest.skip("no fault run in this session")
    total = SUITE[0]
    for result in SUITE[1:]:
        total = total + result
    print(f"\n[suite] {total.line()}")
    check(total)
