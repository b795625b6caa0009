"""X-Forwarded-For is believed only from configured proxies (the rate limiter counts the real client), and
the last admin cannot be revoked (API and CLI)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app, serve
from gateway.auth import AuthRepo
from gateway.auth.repo import LastAdminError
from gateway.settings import GatewaySettings
from junkan.core.net import free_port, wait_for_port

BAD = {"Authorization": "Bearer jk_AAAAAAAAAAAA_" + "B" * 43}


def _running(tmp_path: Path, trusted: list[str]) -> Iterator[str]:
    port = free_port()
    settings = GatewaySettings.model_validate({
        "db_url": f"sqlite:///{tmp_path / 'gateway.db'}", "consume": False,
        "api": {"port": port, "trusted_proxies": trusted}, "auth": {"mode": "tokens", "max_failures_per_minute": 5}})
    stop = threading.Event()
    thread = threading.Thread(target=serve, args=(settings, stop), daemon=True)
    thread.start()
    wait_for_port(port, timeout=20)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        thread.join(15)


@pytest.fixture
def untrusting(tmp_path: Path) -> Iterator[str]:
    yield from _running(tmp_path, [])


@pytest.fixture
def trusting_loopback(tmp_path: Path) -> Iterator[str]:
    yield from _running(tmp_path, ["127.0.0.1"])


def _statuses(base: str) -> list[int]:
    """Failed tokens, each claiming another client address."""
    return [httpx.get(f"{base}/api/v1/lots", headers={**BAD, "X-Forwarded-For": f"203.0.113.{i}"}).status_code
            for i in range(8)]


@pytest.mark.integration
def test_forwarded_for_is_not_trusted_by_default(untrusting: str) -> None:
    assert _statuses(untrusting) == [401] * 5 + [429] * 3  # rotating the header does not dodge the limit


@pytest.mark.integration
def test_a_configured_proxy_is_trusted(trusting_loopback: str) -> None:
    assert _statuses(trusting_loopback) == [401] * 8  # behind a named proxy the forwarded client is counted


def test_the_last_admin_cannot_be_revoked(gateway_store, junkan, gateway_db_url) -> None:  # type: ignore[no-untyped-def]
    repo = AuthRepo(gateway_store.db)
    repo.add_user("alice", "admin", None)
    repo.add_user("olga", "operator", None)
    with pytest.raises(LastAdminError):
        repo.revoke("alice")
    repo.revoke("olga")  # not an admin: fine
    api = TestClient(create_app(GatewaySettings(), gateway_store))  # open mode: the anonymous admin
    assert api.delete("/api/v1/users/alice").status_code == 409
    repo.add_user("bob", "admin", None)
    assert api.delete("/api/v1/users/alice").status_code == 200
    cli = junkan("gateway", "users", "revoke", "bob", "--db", gateway_db_url)
    assert cli.returncode == 2 and "last admin" in cli.stderr
    assert [u["name"] for u in repo.list_users() if u["role"] == "admin" and not u["revoked_at"]] == ["bob"]
