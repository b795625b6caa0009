"""Shared fixtures: a real Mosquitto per test on a free loopback port, temp stores, a plant in a box.

The gateway tests take ``gateway_store`` / ``gateway_db_url``: the backend comes from ``--gateway-db``
(default ``$JUNKAN_TEST_GATEWAY_DB``, else sqlite), so the same suite runs on SQLite and on PostgreSQL
(`make test-pg`). With ``--gateway-db=postgres`` only the tests that touch a gateway database are run.
A test about SQLite itself opens a ``SqliteStore`` directly and says why.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from junkan.broker import Mosquitto

SHARED = Path(__file__).resolve().parents[2] / "shared"
if not SHARED.exists():  # CI clones beside ../shared as well; allow an override
    SHARED = Path(os.environ.get("JUNKAN_SHARED", "../shared")).resolve()


GATEWAY_DBS = ("sqlite", "postgres")
ENV_GATEWAY_DB = "JUNKAN_TEST_GATEWAY_DB"
# Fixtures whose tests follow --gateway-db; in a postgres run every other test is deselected.
GATEWAY_DB_FIXTURES = ("gateway_db_url", "store_url")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--gateway-db", choices=GATEWAY_DBS, default=os.environ.get(ENV_GATEWAY_DB) or "sqlite",
                     help=f"backend of the gateway tests' store (default ${ENV_GATEWAY_DB}, else sqlite)")


def gateway_db(config: pytest.Config) -> str:
    return str(config.getoption("gateway_db"))


def pytest_configure(config: pytest.Config) -> None:
    choice = gateway_db(config)
    if choice not in GATEWAY_DBS:
        raise pytest.UsageError(f"{ENV_GATEWAY_DB}={choice!r}: expected one of {', '.join(GATEWAY_DBS)}")
    if choice == "postgres":
        from tests.pg import why_unavailable

        reason = why_unavailable()
        if reason:  # asked for explicitly: a skipped PostgreSQL run must not look like a passing one
            raise pytest.UsageError(f"--gateway-db=postgres: {reason}")


# `make unit` runs the suite on parallel workers (pytest-xdist, `-n ... --dist loadgroup`). These tests must not
# share the CPU with each other: they go to one group, which one worker runs one test after another. Where no
# -n is given the mark does nothing. Each entry says why (node id prefix -> reason).
ONE_AT_A_TIME = "one-at-a-time"
ONE_AT_A_TIME_TESTS = {
    "tests/scenarios/test_adversity.py": "100 s whole line that starts busy processes (its CPU-hog fault)",
    "tests/benchmarks/": "the bench runner measures rates and CPU per message",
    "tests/ingest/test_consumer_loop.py::test_a_command_from_another_thread_reaches_the_agent":
        "asserts the idle loop wakes within 1 s",
    "tests/ingest/test_ingest_isolation.py::test_readyz_503_while_a_held_lock_stalls_ingest_200_after":
        "asserts /readyz turns 503 within 3 s of the stall",
    "tests/service/test_systemd.py": "watchdog pings every 0.2 s, and their stop while the loop is blocked",
}
# Tests that need the CPU to themselves: marked ``alone``; `make unit` runs them after the parallel pass, one at
# a time with nothing beside them (-m alone). Measured: four workers on 2 cores starved the live camera of the
# whole-line run (153 of 240 flakes counted, the analyser skips frames it has no time for).
ALONE_TESTS = {
    "tests/scenarios/test_scenario.py::test_short_whole_line_run": "live camera counts flakes in real time",
}


@pytest.hookimpl(tryfirst=True)  # before -m deselects by mark: `-m "not alone"` sees the marks given here
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Timing-sensitive tests into one xdist group, CPU-bound real-time ones marked ``alone``; a postgres run
    keeps only the tests whose store follows the option (SQLite ran them already)."""
    for item in items:
        if any(item.nodeid.startswith(prefix) for prefix in ONE_AT_A_TIME_TESTS):
            item.add_marker(pytest.mark.xdist_group(ONE_AT_A_TIME))
        if any(item.nodeid.startswith(prefix) for prefix in ALONE_TESTS):
            item.add_marker(pytest.mark.alone)
    if gateway_db(config) != "postgres":
        return
    keep, drop = [], []
    for item in items:
        names = getattr(item, "fixturenames", ())
        callspec = getattr(item, "callspec", None)
        on_sqlite = callspec is not None and callspec.params.get("store_url") == "sqlite"
        (keep if any(f in names for f in GATEWAY_DB_FIXTURES) and not on_sqlite else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A private broker for this test (never the system one on 1883); tests may kill/restart it."""
    broker = Mosquitto(tmp_path / "broker").start()
    yield broker
    broker.stop()


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.exists():
        pytest.skip("../shared reference folder not present")
    return SHARED


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def junkan(capfd: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run `junkan ARGS…` in-process (real parsing and wiring); returns exit code and captured output."""
    from junkan.cli import main

    def run(*args: str) -> CliResult:
        capfd.readouterr()  # drop what earlier steps printed
        try:
            code = main(list(args))
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capfd.readouterr()
        return CliResult(code, out, err)

    return run


@pytest.fixture(scope="session")
def pg_server():  # type: ignore[no-untyped-def]
    """One throwaway PostgreSQL cluster per session (tests/pg.py); skips when none can be had."""
    from tests.pg import PgServer, why_unavailable

    reason = why_unavailable()
    if reason:
        pytest.skip(reason)
    server = PgServer().start()
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A fresh, empty PostgreSQL database for this test."""
    url = pg_server.create_database()
    yield url
    pg_server.drop_database(url)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store URL for each backend: tests taking it run once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'gateway.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store(store_url: str):  # type: ignore[no-untyped-def]
    """An opened store (migrations applied) on each backend."""
    from gateway.store import open_store

    opened = open_store(store_url)
    yield opened
    opened.close()


@pytest.fixture
def gateway_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The gateway store URL on the --gateway-db backend: ``tmp_path/gateway.db`` or a fresh PG database."""
    if gateway_db(request.config) == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite:///{tmp_path / 'gateway.db'}"


@pytest.fixture
def gateway_store(gateway_db_url: str):  # type: ignore[no-untyped-def]
    """An opened gateway store (migrations applied) on the --gateway-db backend."""
    from gateway.store import open_store

    opened = open_store(gateway_db_url)
    yield opened
    opened.close()
