"""A throwaway PostgreSQL server for tests and benchmarks: ``initdb`` + ``pg_ctl`` on a free port.

Never the system PostgreSQL on 5432. The cluster lives in a fresh temp folder, listens on 127.0.0.1
and a unix socket in that folder, runs with ``fsync=off`` (tests and benchmarks, not production) and
trusts local connections. initdb refuses to run as root, so as root the cluster is created and run as
the ``postgres`` system user (``runuser -u postgres --``), which Debian's PostgreSQL package creates.
Set ``JUNKAN_TEST_PG_URL=postgresql://user@host:port/db`` to use an existing server instead (the user
needs CREATEDB: every test gets its own database).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from junkan.broker import free_port
from junkan.core.ids import new_id

ENV_URL = "JUNKAN_TEST_PG_URL"


def pg_bin(name: str) -> str | None:
    """A PostgreSQL server binary from PATH or Debian's versioned folder."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def run_as() -> str | None:
    """The user to run the cluster as: ourselves unless we are root (then ``postgres``, if it exists)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise RuntimeError("running as root and no 'postgres' user to run initdb as: create one or set "
                           f"{ENV_URL}") from None
    return "postgres"


def why_unavailable() -> str | None:
    """None when a test server can be had; otherwise the reason (used as the skip message)."""
    if os.environ.get(ENV_URL):
        return None
    if not (pg_bin("initdb") and pg_bin("pg_ctl")):
        return f"PostgreSQL server binaries (initdb, pg_ctl) not found and {ENV_URL} not set"
    try:
        run_as()
    except RuntimeError as exc:
        return str(exc)
    return None


class PgServer:
    """One cluster; ``create_database()`` hands out a fresh database URL per test or benchmark run."""

    def __init__(self, fsync: bool = False, extra_conf: dict[str, str] | None = None) -> None:
        self.fsync, self.extra_conf = fsync, extra_conf or {}
        self.external = os.environ.get(ENV_URL)
        self.root: Path | None = None
        self.port = 0
        self.user = run_as() if not self.external else None

    def _cmd(self, *args: str) -> list[str]:
        return ["runuser", "-u", self.user, "--", *args] if self.user else list(args)

    @property
    def admin_url(self) -> str:
        if self.external:
            return self.external
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> PgServer:
        if self.external:
            return self
        initdb, pg_ctl = pg_bin("initdb"), pg_bin("pg_ctl")
        if not (initdb and pg_ctl):
            raise RuntimeError(why_unavailable() or "initdb/pg_ctl missing")
        self.root = Path(tempfile.mkdtemp(prefix="junkan-pg-"))
        if self.user:
            shutil.chown(self.root, self.user)
        data = self.root / "data"
        subprocess.run(self._cmd(initdb, "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                                 "--no-sync"), check=True, capture_output=True)
        self.port = free_port()
        opts = {"port": str(self.port), "listen_addresses": "127.0.0.1", "unix_socket_directories": str(self.root),
                "fsync": "on" if self.fsync else "off", "synchronous_commit": "on" if self.fsync else "off",
                "full_page_writes": "on" if self.fsync else "off", "max_connections": "200", **self.extra_conf}
        options = " ".join(f"-c {k}={v}" for k, v in opts.items())
        result = subprocess.run(self._cmd(pg_ctl, "-D", str(data), "-l", str(self.root / "server.log"), "-o",
                                          options, "-w", "-t", "60", "start"), capture_output=True, text=True)
        if result.returncode != 0:
            log = (self.root / "server.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"pg_ctl start failed: {result.stderr.strip()}\n{log}")
        return self

    def stop(self) -> None:
        if self.external or self.root is None:
            return
        pg_ctl = pg_bin("pg_ctl")
        if pg_ctl:
            subprocess.run(self._cmd(pg_ctl, "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop"),
                           capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None

    def create_database(self, prefix: str = "junkan_test") -> str:
        """A new empty database; returns its URL."""
        import psycopg

        name = f"{prefix}_{new_id().lower()}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            # PostgreSQL 15+ copies the template through the WAL by default: 40-300 ms a database here;
            # FILE_COPY takes ~30 ms (its checkpoint is cheap with fsync off) and tests make one each.
            strategy = " STRATEGY FILE_COPY" if conn.info.server_version >= 150000 else ""
            conn.execute(f'CREATE DATABASE "{name}"{strategy}')  # type: ignore[arg-type]
        parts = urlsplit(self.admin_url)
        return urlunsplit(parts._replace(path="/" + name))

    def drop_database(self, url: str) -> None:
        import psycopg

        name = urlsplit(url).path.lstrip("/")
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]

    def __enter__(self) -> PgServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
