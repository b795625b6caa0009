"""Fault suite: SIGKILL the broker, the gateway and the agent, hold the broker down, hold the database's
write lock, fill its disk and send poison messages while a device produces numbered readings; afterwards
0 lost, 0 duplicated, per-device order kept, on SQLite and on PostgreSQL.

`make test` runs the short version (PostgreSQL for the gateway kill and the lock); `make faults` the full
one (100k readings, 5 faults of each kind, every kind on both stores) and prints one `faults:` line per run
and one for the whole suite.
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
PG = pytest.param("postgres", marks=pytest.mark.postgres)


def stores(short_on_pg: bool = False) -> list[object]:
    return ["sqlite", PG] if FULL or short_on_pg else ["sqlite"]


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str | None:
    """None: the plant's own SQLite file; postgres: a fresh database on the test cluster."""
    backend = getattr(request, "param", "sqlite")
    return str(request.getfixturevalue("pg_url")) if backend == "postgres" else None


def run(tmp_path: Path, fault: str, kills: int, down_s: float = 1.0, db_url: str | None = None) -> FaultLine:
    line = FaultLine(tmp_path, TOTAL, RATE, seed=hash(fault) % 1000, db_url=db_url, disk_cap=fault == "disk_full",
                     kills_planned=kills)
    store = "postgres" if line.pg else "sqlite"
    try:
        line.start()
        production_s = TOTAL / RATE
        gap = production_s / (kills + 1)
        for _ in range(kills):
            time.sleep(gap)
            getattr(line, f"kill_{fault}")(down_s)
        try:
            line.wait_complete(timeout=production_s + 60 + kills * 15)
        finally:
            print(f"\n[{fault}] source sessions: {line.source.sessions}")
        line.outcome = line.result()
        line.dead = line.dead_letters()
    finally:
        line.stop()
    extra = (f" stalls={line.stalls}" if line.stalls else "") + (f" dead_letters={len(line.dead)}" if line.dead else "")
    print(f"\n[{fault} x{kills} {store}] {line.outcome.line()}{extra}")
    SUITE.append(line.outcome)
    return line


def check(result: Result) -> None:
    assert (result.lost, result.duplicated, result.order_violations) == (0, 0, 0), result.line()
    assert result.stored == result.produced


@pytest.mark.parametrize("db_url", stores(), indirect=True)
@pytest.mark.parametrize("fault", ["broker", "agent"])
def test_sigkill_loses_and_duplicates_nothing(tmp_path: Path, fault: str, db_url: str | None) -> None:
    check(run(tmp_path, fault, KILLS, db_url=db_url).outcome)


@pytest.mark.parametrize("db_url", stores(short_on_pg=True), indirect=True)
def test_sigkill_of_the_gateway_loses_and_duplicates_nothing(tmp_path: Path, db_url: str | None) -> None:
    check(run(tmp_path, "gateway", KILLS, db_url=db_url).outcome)


@pytest.mark.parametrize("db_url", stores(), indirect=True)
def test_long_broker_outage_is_buffered_and_drained(tmp_path: Path, db_url: str | None) -> None:
    """A long outage, time-compressed: production goes on into the outbox for most of the run."""
    check(run(tmp_path, "broker", 1, down_s=(TOTAL / RATE) * 0.5, db_url=db_url).outcome)


@pytest.mark.parametrize("db_url", stores(short_on_pg=True), indirect=True)
def test_held_database_lock_stalls_then_drains(tmp_path: Path, db_url: str | None) -> None:
    """Held past the gateway's stall age (60 s in production, 2 s here) /readyz says 503 while messages wait
    (printed as stalls=; asserted where it is deterministic: tests/ingest/test_ingest_isolation.py)."""
    line = run(tmp_path, "db_lock", KILLS, down_s=6.0, db_url=db_url)
    check(line.outcome)
    assert len(line.stalls) == KILLS


def test_full_disk_holds_ingest_then_drains(tmp_path: Path) -> None:
    line = run(tmp_path, "disk_full", KILLS, down_s=3.0)
    check(line.outcome)
    assert line.stalls and all(failures > 0 for failures in line.stalls), "the cap never made a commit fail"


@pytest.mark.parametrize("db_url", stores(), indirect=True)
def test_poison_messages_are_dead_lettered_and_ingest_goes_on(tmp_path: Path, db_url: str | None) -> None:
    line = run(tmp_path, "poison", KILLS, down_s=0.0, db_url=db_url)
    check(line.outcome)
    assert len(line.dead) == line.poison_sent, line.dead
    assert {r.split(":")[0] for r in line.dead} == {"int_range", "too_deep", "identity_mismatch", "non_finite",
                                                   "bad_topic"}


def test_zz_suite_summary() -> None:
    """Runs last in this module: the whole suite's figure, as `make faults` reports it."""
    if not SUITE:
        pytest.skip("no fault run in this session")
    total = SUITE[0]
    for result in SUITE[1:]:
        total = total + result
    print(f"\n[suite] {total.line()}")
    check(total)
