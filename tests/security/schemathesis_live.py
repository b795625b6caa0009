"""`python -m tests.security.schemathesis_live [-- schemathesis run options]`: the whole API, live, under
schemathesis with every check (status codes, content types, response schemas, auth, headers...).

Why a live run beside the pytest one: it is the command a security reviewer types (a real uvicorn
socket, a real token, the CLI's own unique-failure count). The gateway runs in token mode on a fresh,
seeded SQLite store with an admin token; the failure limiter is raised so the generated bad-token
requests do not turn every later request into a 429. Exit status is schemathesis's.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import uvicorn

from gateway.app import create_app
from gateway.auth import AuthRepo
from gateway.settings import GatewaySettings
from gateway.store import open_store
from junkan.core.net import free_port, wait_for_port
from tests.security.test_api_schemathesis import RecordingCommands, seed

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CONFIG = Path(__file__).with_name("schemathesis.toml")


# Rotating or revoking a user ends its token: the run's own admin would be locked out half-way. Those two
# operations run second, against a fresh gateway, so neither run tests through a dead token.
USER_OPS = r"^/api/v1/users/\{name\}"


def main(argv: list[str]) -> int:
    first = run_once(["--exclude-path-regex", USER_OPS, *argv])
    second = run_once(["--include-path-regex", USER_OPS, *argv])
    return first or second


def run_once(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="junkan-st-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'gateway.db'}"
        store = seed(open_store(url))
        token = AuthRepo(store.db).add_user("admin", "admin")
        port = free_port()
        settings = GatewaySettings.model_validate({
            "db_url": url, "consume": False, "api": {"host": "127.0.0.1", "port": port},
            "auth": {"mode": "tokens", "max_failures_per_minute": 1_000_000}})
        app = create_app(settings, store, RecordingCommands(store))
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            wait_for_port(port, 20)
            cmd = [str(SCHEMATHESIS), "--config-file", str(CONFIG), "run", f"http://127.0.0.1:{port}/openapi.json",
                   "--checks", "all", "-H", f"Authorization: Bearer {token}", "--seed", "1", "--max-examples", "30",
                   *argv]
            return subprocess.run(cmd, check=False).returncode
        finally:
            server.should_exit = True
            thread.join(10)
            store.close()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
