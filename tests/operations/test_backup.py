"""Backup while ingest runs, restore into a fresh store: identical counts and per-table checksums.

A real agent streams numbered NIR events through Mosquitto into a real gateway (tests/faults harness)
while the backup is taken. Checksums are computed here with plain sqlite3/psycopg queries, independent
of the backup code. The PostgreSQL test (pg_dump/pg_restore) runs in the --gateway-db=postgres pass.
"""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.store import open_store
from junkan.plant import Plant
from tests.faults.harness import FaultLine
from tests.pg import pg_bin

pytestmark = pytest.mark.integration
TOTAL, RATE = 20_000, 2_500.0  # ~8 s of production


def sqlite_query(path: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def checksums(rows_of: Callable[[str], list[tuple[Any, ...]]], tables: list[str]) -> dict[str, tuple[int, str]]:
    """Per table: (rows, sha256 of the rows in full column order)."""
    out = {}
    for table in tables:
        rows = rows_of(table)
        out[table] = (len(rows), hashlib.sha256("\n".join(repr(r) for r in rows).encode()).hexdigest())
    return out


def sqlite_checksums(path: Path) -> dict[str, tuple[int, str]]:
    tables = [r[0] for r in sqlite_query(path, "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]

    def rows(table: str) -> list[tuple[Any, ...]]:
        n = len(sqlite_query(path, f'PRAGMA table_info("{table}")'))
        return sqlite_query(path, f'SELECT * FROM "{table}" ORDER BY {",".join(str(i + 1) for i in range(n))}')

    return checksums(rows, tables)


CONSISTENT = [  # a torn copy would break one of these: messages and their readings commit together
    "SELECT COUNT(*) FROM messages m WHERE kind = 'reading' AND NOT EXISTS "
    "(SELECT 1 FROM readings r WHERE r.agent = m.agent AND r.msg_id = m.msg_id)",
    "SELECT COUNT(*) FROM readings r WHERE NOT EXISTS "
    "(SELECT 1 FROM messages m WHERE m.agent = r.agent AND m.msg_id = r.msg_id)",
    "SELECT COUNT(*) FROM (SELECT agent, msg_id FROM readings GROUP BY agent, msg_id "
    "HAVING MAX(idx) + 1 <> COUNT(*)) AS torn",
]


def readings_in(path: Path) -> int:
    return int(sqlite_query(path, "SELECT COUNT(*) FROM readings")[0][0])


def test_sqlite_backup_during_ingest_restores_identically(tmp_path: Path, junkan: Any) -> None:
    line = FaultLine(tmp_path / "plant", TOTAL, RATE)
    plant, gw = line.plant, line.plant.workdir / "gateway.db"
    outbox = plant.workdir / "agent-faults-outbox.db"
    backup, fresh = tmp_path / "backup" / "gateway.db", tmp_path / "restored" / "gateway.db"
    try:
        line.start()
        plant.wait_for(lambda: readings_in(gw) >= 3_000, 60, "ingest running")
        before = readings_in(gw)
        made = junkan("gateway", "backup", "--db", str(gw), "--to", str(backup))
        assert made.returncode == 0, made.stderr
        in_backup = readings_in(backup)
        assert before <= in_backup < TOTAL  # a snapshot taken mid-ingest
        assert sqlite_query(backup, "PRAGMA integrity_check") == [("ok",)]
        assert [sqlite_query(backup, q)[0][0] for q in CONSISTENT] == [0, 0, 0]
        assert not Path(f"{backup}-wal").exists()  # one self-contained file

        done = junkan("gateway", "restore", "--from", str(backup), "--db", str(fresh))
        assert done.returncode == 0, done.stderr
        assert sqlite_checksums(fresh) == sqlite_checksums(backup)
        store = open_store(f"sqlite:///{fresh}")  # the restored file is a working store
        assert store.counts()["readings"] == in_backup
        store.close()

        live = junkan("gateway", "restore", "--from", str(backup), "--db", str(gw), "--force")
        assert live.returncode == 2 and "is open by pid" in live.stderr  # never under a running gateway
        again = junkan("gateway", "restore", "--from", str(backup), "--db", str(fresh))
        assert again.returncode == 2 and "--force" in again.stderr  # data there: only with --force

        box = junkan("gateway", "backup", "--db", str(outbox), "--to", str(tmp_path / "outbox.bak"))
        assert box.returncode == 0 and '"kind": "outbox"' in box.stdout
        refused = junkan("gateway", "restore", "--from", str(tmp_path / "outbox.bak"), "--db", str(outbox), "--force")
        assert refused.returncode == 2 and "an agent is running" in refused.stderr

        line.wait_complete(90)
        result = line.result()
        assert (result.lost, result.duplicated) == (0, 0)  # the backup did not disturb ingest
        assert readings_in(gw) > in_backup
    finally:
        plant.stop()
        line.source.stop()
    # stopped: the outbox may be restored now, and the data-holding store with --force
    assert junkan("gateway", "restore", "--from", str(tmp_path / "outbox.bak"), "--db", str(outbox),
                  "--force").returncode == 0
    assert junkan("gateway", "restore", "--from", str(backup), "--db", str(fresh), "--force").returncode == 0
    assert sqlite_checksums(fresh) == sqlite_checksums(backup)


def pg_checksums(url: str) -> dict[str, tuple[int, str]]:
    import psycopg

    with psycopg.connect(url) as conn:
        tables = [r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables "
                                             "WHERE table_schema = 'public' ORDER BY table_name")]

        def rows(table: str) -> list[tuple[Any, ...]]:
            n = conn.execute("SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = 'public' "
                             "AND table_name = %s", (table,)).fetchone()[0]  # type: ignore[index]
            order = ",".join(str(i + 1) for i in range(n))
            return conn.execute(f'SELECT * FROM "{table}" ORDER BY {order}').fetchall()  # type: ignore[arg-type]

        return checksums(rows, tables)


def pg_scalar(url: str, sql: str) -> Any:
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchone()[0]  # type: ignore[arg-type, index]


def dump_and_restore(url: str, pg_server: Any, dump: Path) -> str:
    """pg_dump -Fc (one consistent snapshot) then pg_restore into a new database, as docs/operations.md says."""
    subprocess.run([pg_bin("pg_dump") or "pg_dump", "-Fc", "-f", str(dump), url], check=True, capture_output=True)
    target = str(pg_server.create_database("junkan_restored"))
    subprocess.run([pg_bin("pg_restore") or "pg_restore", "--no-owner", "--exit-on-error", "-d", target, str(dump)],
                   check=True, capture_output=True)
    return target


def test_pg_dump_during_ingest_restores_identically(gateway_db_url: str, request: pytest.FixtureRequest,
                                                    tmp_path: Path) -> None:
    if not gateway_db_url.startswith("postgres"):
        pytest.skip("pg_dump/pg_restore of a PostgreSQL store: runs in the --gateway-db=postgres pass (make test-pg)")
    pg_server = request.getfixturevalue("pg_server")
    line = FaultLine(tmp_path / "plant", TOTAL, RATE)
    line.plant = plant = Plant(tmp_path / "plant", db_url=gateway_db_url)
    outbox = plant.workdir / "agent-faults-outbox.db"
    try:
        line.start()
        plant.wait_for(lambda: pg_scalar(gateway_db_url, "SELECT COUNT(*) FROM readings") >= 3_000, 60,
                       "ingest running")
        mid = dump_and_restore(gateway_db_url, pg_server, tmp_path / "mid.dump")
        in_dump = pg_scalar(mid, "SELECT COUNT(*) FROM readings")
        assert 3_000 <= in_dump < TOTAL
        assert [pg_scalar(mid, q) for q in CONSISTENT] == [0, 0, 0]

        def settled() -> bool:
            pending = sqlite_query(outbox, "SELECT COUNT(*) FROM outbox")[0][0]
            stored = pg_scalar(gateway_db_url, "SELECT COUNT(DISTINCT data::json->>'event_id') FROM readings")
            return bool(stored >= TOTAL and pending == 0)

        assert line.source.done.wait(60)
        plant.wait_for(settled, 90, "every event stored and the outbox drained")
    finally:
        plant.stop()
        line.source.stop()
    final = dump_and_restore(gateway_db_url, pg_server, tmp_path / "final.dump")
    assert pg_checksums(final) == pg_checksums(gateway_db_url)
    assert pg_scalar(final, "SELECT COUNT(*) FROM readings") == TOTAL
