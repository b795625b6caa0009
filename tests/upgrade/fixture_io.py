"""Open the committed upgrade fixtures in a test's temp space, and digest tables the way the manifest did.

The fixtures were written by an old release (see make_fixtures.py); nothing here writes them.
"""

from __future__ import annotations

import gzip
import json
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from tests.upgrade.make_fixtures import FIXTURES, table_digest

MANIFEST: dict[str, Any] = json.loads((FIXTURES / "manifest.json").read_text(encoding="utf-8"))


def backend_of(url: str) -> str:
    return "sqlite" if url.startswith("sqlite:///") else "postgres"


def place_gateway_store(url: str, keys_beside: Path) -> None:
    """Put the old store at ``url`` (an empty SQLite path or an empty PostgreSQL database) and its key
    folder at ``keys_beside/keys``."""
    if backend_of(url) == "sqlite":
        Path(url.removeprefix("sqlite:///")).write_bytes(gzip.decompress((FIXTURES / "gateway.db.gz").read_bytes()))
    else:
        load_pg_dump(url, gzip.decompress((FIXTURES / "gateway-pg.sql.gz").read_bytes()))
    shutil.copytree(FIXTURES / "keys", keys_beside / "keys", dirs_exist_ok=True)


def load_pg_dump(url: str, sql: bytes) -> None:
    from tests.pg import pg_bin

    psql = pg_bin("psql") or "psql"
    result = subprocess.run([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url], input=sql,
                            capture_output=True)
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]


def place_outbox(path: Path) -> Path:
    shutil.copyfile(FIXTURES / "agent-outbox.db", path)
    return path


def digests(url: str, tables: dict[str, dict[str, Any]]) -> dict[str, tuple[int, str] | None]:
    """(count, sha256) of each manifest table over the columns it had in the old release; None when the
    table is gone. Plain sqlite3/psycopg queries, nothing from the store code under test."""
    out: dict[str, tuple[int, str] | None] = {}
    if backend_of(url) == "sqlite":
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            for table, spec in tables.items():
                cols = ",".join(f'"{c}"' for c in spec["columns"])
                out[table] = table_digest(conn.execute(f'SELECT {cols} FROM "{table}"')) if table in present else None
        finally:
            conn.close()
        return out
    import psycopg

    with psycopg.connect(url) as pg:
        present = {r[0] for r in pg.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema='public'")}
        for table, spec in tables.items():
            cols = ",".join(f'"{c}"' for c in spec["columns"])
            out[table] = (table_digest(pg.execute(f'SELECT {cols} FROM "{table}"'))  # type: ignore[arg-type]
                          if table in present else None)
    return out
