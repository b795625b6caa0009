"""Recycler tenancy: recycler A never sees recycler B's lots — list, get, readings, evidence, pages.

Runs on both stores (the ``store`` fixture is parametrised over SQLite and PostgreSQL), because the
filter lives in the store query, not in the handlers.
"""

from __future__ import annotations

import pytest

from gateway.auth import AuthRepo
from gateway.dashboard.extras import has_route
from tests.dashboard.seed import bearer, client_for, seed_tenants

EVIDENCE = "/api/v1/lots/{lot_id}/evidence"


@pytest.fixture
def tenants(store):  # type: ignore[no-untyped-def]
    seed_tenants(store)
    repo = AuthRepo(store.db)
    tokens = {name: repo.add_user(name, "recycler") for name in ("recycler-a", "recycler-b")}
    tokens["operator"] = repo.add_user("op", "operator")
    client = client_for(store, "tokens")
    assert has_route(client.app, EVIDENCE), "the evidence endpoint is missing from this gateway"  # type: ignore[arg-type]
    return client, tokens


def test_store_filter(store) -> None:  # type: ignore[no-untyped-def]
    seed_tenants(store)
    assert {lot["lot_id"] for lot in store.list_lots(recycler="recycler-a")} == {"A-1", "A-2"}
    assert store.get_lot("B-1", recycler="recycler-a") is None
    assert store.get_lot("A-1", recycler="recycler-a")["recycler"] == "recycler-a"
    assert len(store.list_lots()) == 4  # staff: no filter


def test_list_shows_only_own_lots(tenants) -> None:  # type: ignore[no-untyped-def]
    client, tokens = tenants
    listed = client.get("/api/v1/lots?limit=1000", headers=bearer(tokens["recycler-a"])).json()
    seen_a = {lot["lot_id"] for lot in listed}
    seen_b = {lot["lot_id"] for lot in client.get("/api/v1/lots", headers=bearer(tokens["recycler-b"])).json()}
    assert seen_a == {"A-1", "A-2"} and seen_b == {"B-1"}
    searched = client.get("/api/v1/lots?q=B", headers=bearer(tokens["recycler-a"])).json()
    assert searched == []
    assert len(client.get("/api/v1/lots", headers=bearer(tokens["operator"])).json()) == 4


@pytest.mark.parametrize("path", ["/api/v1/lots/{}", "/api/v1/lots/{}/readings", "/api/v1/lots/{}/evidence?format=json",
                                  "/api/v1/lots/{}/evidence?format=pdf", "/lots/{}"])
def test_other_tenants_lots_are_not_found(tenants, path: str) -> None:  # type: ignore[no-untyped-def]
    client, tokens = tenants
    a = bearer(tokens["recycler-a"])
    assert client.get(path.format("A-1"), headers=a).status_code == 200
    for foreign in ("B-1", "U-1"):  # another recycler's, and nobody's
        resp = client.get(path.format(foreign), headers=a)
        assert resp.status_code == 404, (foreign, resp.status_code)
        assert foreign not in resp.text or "not found" in resp.text
    missing = client.get(path.format("NO-SUCH-LOT"), headers=a)
    assert missing.status_code == 404  # a foreign lot and a missing lot look the same


def test_dashboard_lot_list_is_filtered(tenants) -> None:  # type: ignore[no-untyped-def]
    client, tokens = tenants
    page = client.get("/lots", headers=bearer(tokens["recycler-b"]))
    assert page.status_code == 200
    assert 'data-lot="B-1"' in page.text and 'data-lot="A-1"' not in page.text and 'data-lot="U-1"' not in page.text


def test_assigning_a_lot_moves_it_between_tenants(tenants) -> None:  # type: ignore[no-untyped-def]
    client, tokens = tenants
    a, b = bearer(tokens["recycler-a"]), bearer(tokens["recycler-b"])
    assert client.put("/api/v1/lots/U-1/recycler", json={"recycler": "recycler-b"}, headers=a).status_code == 403
    resp = client.put("/api/v1/lots/U-1/recycler", json={"recycler": "recycler-b"}, headers=bearer(tokens["operator"]))
    assert resp.status_code == 200
    assert client.get("/api/v1/lots/U-1", headers=b).status_code == 200
    assert client.get("/api/v1/lots/U-1", headers=a).status_code == 404
    assert client.put("/api/v1/lots/NOPE/recycler", json={"recycler": "x"},
                      headers=bearer(tokens["operator"])).status_code == 404
    assert client.put("/api/v1/lots/U-1/recycler", json={"recycler": "bad name!"},
                      headers=bearer(tokens["operator"])).status_code == 422
