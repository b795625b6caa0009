"""Who may do what, through the real app in tokens mode: every role against every kind of route."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.auth import AuthRepo
from gateway.auth.policy import allowed
from gateway.settings import GatewaySettings, SettingsError, load_settings
from tests.dashboard.seed import RecordingCommands, bearer, client_for, seed_tenants

STAFF = {"operator", "engineer", "admin"}
ALL = STAFF | {"recycler"}
MATRIX: list[tuple[str, str, dict[str, Any] | None, set[str]]] = [
    ("GET", "/api/v1/lots", None, ALL),
    ("GET", "/api/v1/lots/A-1", None, ALL),
    ("GET", "/api/v1/lots/A-1/readings", None, ALL),
    ("PUT", "/api/v1/lots/A-1/recycler", {"recycler": "recycler-a"}, {"operator", "admin"}),
    ("POST", "/api/v1/lines/line-1/lots", {"action": "open"}, {"operator", "admin"}),
    ("GET", "/api/v1/devices", None, STAFF),
    ("GET", "/api/v1/agents", None, STAFF),
    ("GET", "/api/v1/dead-letters", None, {"engineer", "admin"}),
    ("POST", "/api/v1/dead-letters/1/replay", None, {"engineer", "admin"}),
    ("GET", "/dead-letters", None, {"engineer", "admin"}),
    ("GET", "/api/v1/users", None, {"admin"}),
    ("POST", "/api/v1/users", {"name": "newbie", "role": "operator"}, {"admin"}),
    ("GET", "/api/v1/auth/whoami", None, ALL),
    # routes of the evidence/traceability modules: allowed means "not 401/403" (404/409/422 are theirs to give)
    ("GET", "/api/v1/lots/A-1/evidence?format=json", None, ALL),
    ("GET", "/api/v1/lots/A-1/measurement", None, ALL),
    ("POST", "/api/v1/lots/A-1/evidence/publish", None, {"operator", "admin"}),
    ("POST", "/api/v1/lots/A-1/lab-confirmations", {}, {"operator", "admin"}),
    ("GET", "/api/v1/lots/A-1/lab-confirmations", None, STAFF),
    ("GET", "/api/v1/process/lineage/lots/A-1", None, STAFF),
    ("POST", "/api/v1/process/steps", {}, {"operator", "admin"}),
    ("POST", "/api/v1/process/claims", {}, {"admin"}),
    ("PUT", "/api/v1/specs/S-1", {}, {"engineer", "admin"}),
    ("POST", "/api/v1/composition/import", None, {"engineer", "admin"}),
    ("POST", "/api/v1/composition/identifications/ag/01ARZ3NDEKTSV4RRFFQ69G5FAV/0/resolve", {"product_id": None},
     {"operator", "admin"}),
    ("GET", "/metrics", None, {"engineer", "admin"}),
    ("GET", "/lines", None, STAFF),
    ("GET", "/lots", None, ALL),
    ("GET", "/lots/A-1", None, ALL),
    ("GET", "/alarms", None, STAFF),
    ("GET", "/unmatched", None, STAFF),
]


@pytest.fixture
def world(gateway_store):  # type: ignore[no-untyped-def]
    seed_tenants(gateway_store)
    repo = AuthRepo(gateway_store.db)
    tokens = {role: repo.add_user(role if role != "recycler" else "recycler-a", role)
              for role in ("operator", "engineer", "recycler", "admin")}
    commands = RecordingCommands()
    return client_for(gateway_store, "tokens", commands=commands, metrics="engineer"), tokens, commands


@pytest.mark.parametrize(("method", "path", "body", "who"), MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX])
def test_roles_matrix(world, method: str, path: str, body: dict[str, Any] | None, who: set[str]) -> None:  # type: ignore[no-untyped-def]
    client, tokens, _ = world
    for role, token in tokens.items():
        resp = client.request(method, path, json=body, headers=bearer(token), follow_redirects=False)
        if role in who:
            assert resp.status_code not in (401, 403, 429), (role, resp.status_code, resp.text[:200])
        else:
            assert resp.status_code == 403, (role, resp.status_code, resp.text[:200])
    anonymous = client.request(method, path, json=body, follow_redirects=False)
    if path.startswith("/api/") or path == "/metrics":
        assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
    else:
        assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login?next=")


def test_health_stays_open_and_metrics_can_be_open(gateway_store) -> None:  # type: ignore[no-untyped-def]
    closed = client_for(gateway_store, "tokens", metrics="engineer")
    assert closed.get("/healthz").status_code == 200
    assert closed.get("/metrics").status_code == 401
    assert client_for(gateway_store, "tokens").get("/metrics").status_code == 200  # default: open to scrapers


def test_operator_commands_carry_the_operator_name(world) -> None:  # type: ignore[no-untyped-def]
    client, tokens, commands = world
    resp = client.post("/api/v1/lines/line-1/lots", json={"action": "close", "lot_id": "LIVE-1"},
                       headers=bearer(tokens["operator"]))
    assert resp.status_code == 202
    assert commands.sent[-1] == ("line-1", "close_lot", "LIVE-1", "operator")


def test_bad_and_malformed_credentials_are_401(world) -> None:  # type: ignore[no-untyped-def]
    client, tokens, _ = world
    for header in ({"Authorization": "Bearer nonsense"}, {"Authorization": f"Basic {tokens['admin']}"},
                   {"Authorization": "Bearer " + tokens["admin"][:-2] + "zz"}):
        assert client.get("/api/v1/lots", headers=header).status_code == 401


def test_unknown_routes_default_to_admin_only_writes_and_staff_reads() -> None:
    assert not allowed("operator", "POST", "/api/v1/something-new")
    assert allowed("admin", "POST", "/api/v1/something-new")
    assert allowed("engineer", "GET", "/api/v1/something-new")
    assert not allowed("recycler", "GET", "/api/v1/something-new")
    assert not allowed("recycler", "GET", "/api/v1/lineage/{lot_id}")


def test_open_mode_acts_as_admin_only_for_local_hosts(gateway_store) -> None:  # type: ignore[no-untyped-def]
    client = client_for(gateway_store, "open")
    assert client.get("/api/v1/auth/whoami").json()["role"] == "admin"
    assert client.get("/api/v1/users").status_code == 200
    rebound = client.get("/api/v1/lots", headers={"Host": "evil.example:8080"})  # DNS rebinding
    assert rebound.status_code == 401
    assert client.get("/api/v1/lots", headers={"Authorization": "Bearer wrong"}).status_code == 401
    token = AuthRepo(gateway_store.db).add_user("recycler-a", "recycler")
    assert client.get("/api/v1/auth/whoami", headers=bearer(token)).json()["role"] == "recycler"


def test_open_mode_refuses_a_non_loopback_listener() -> None:
    with pytest.raises(SettingsError, match="loopback"):
        load_settings(None, {"api.host": "0.0.0.0"})
    settings = GatewaySettings.model_validate({"api": {"host": "0.0.0.0"}, "auth": {"mode": "tokens"}})
    assert settings.auth.mode == "tokens"


def test_session_cookie_is_httponly_strict_and_refuses_cross_origin_writes(world) -> None:  # type: ignore[no-untyped-def]
    client, tokens, commands = world
    resp = client.post("/api/v1/auth/login", json={"token": tokens["operator"]})
    assert resp.status_code == 200
    cookie = resp.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "junkan_session=" in cookie
    assert client.get("/api/v1/auth/whoami").json()["name"] == "operator"
    body = {"action": "open"}
    assert client.post("/api/v1/lines/line-1/lots", json=body, headers={"Origin": "http://evil.example"}
                       ).status_code == 403
    assert client.post("/api/v1/lines/line-1/lots", json=body).status_code == 403  # no Origin at all
    ok = client.post("/api/v1/lines/line-1/lots", json=body, headers={"Origin": "http://testserver"})
    assert ok.status_code == 202 and commands.sent[-1][3] == "operator"
    client.post("/api/v1/auth/logout", headers={"Origin": "http://testserver"})
    assert client.get("/api/v1/auth/whoami").status_code == 401


def test_dashboard_login_form_sets_a_session_and_redirects(world) -> None:  # type: ignore[no-untyped-def]
    client, tokens, _ = world
    bad = client.post("/login", content="token=nope&next=/lots", follow_redirects=False,
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert bad.status_code == 401 and "Invalid" in bad.text
    good = client.post("/login", content=f"token={tokens['engineer']}&next=//evil.example/", follow_redirects=False,
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert good.status_code == 303 and good.headers["location"] == "/"  # no open redirect
    assert client.get("/alarms").status_code == 200
