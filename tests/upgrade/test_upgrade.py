"""Stores written by release 6787e87 open under the current code with every row kept and meaning the same.

The fixtures (tests/upgrade/fixtures/) and every expected value come from make_fixtures.py run against
that commit's own code (manifest.json), never from the code under test. The gateway store follows
``--gateway-db``: the SQLite file on the default pass, the pg_dump on the PostgreSQL pass.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from edge_agent.config import load_config
from edge_agent.core import AgentCore
from edge_agent.publishing.outbox import SCHEMA_VERSION, SqliteOutbox
from gateway.auth.repo import AuthRepo
from gateway.evidence import keys
from gateway.evidence.formats import produce
from gateway.evidence.signing import VerifyError, verify_token
from gateway.store import open_store
from gateway.store.version import applied_migrations, store_schema
from gateway.traceability.repo import get_step
from junkan.core.ids import new_id
from junkan.core.topics import AgentTopics
from junkan.plant import Plant
from simulators.commands.scale import rest_operator
from simulators.pty_port import PtyPort
from tests.upgrade.fixture_io import MANIFEST, backend_of, digests, place_gateway_store, place_outbox
from tests.upgrade.make_fixtures import FIXTURES, sha256_json, table_digest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def old_store_url(gateway_db_url: str, tmp_path: Path) -> str:
    """The old release's gateway store on the --gateway-db backend, keys beside it, not yet opened."""
    if backend_of(gateway_db_url) not in MANIFEST:
        pytest.skip(f"the fixtures hold no {backend_of(gateway_db_url)} store (generated with --no-pg)")
    place_gateway_store(gateway_db_url, tmp_path)
    return gateway_db_url


@pytest.fixture
def upgraded(old_store_url: str) -> Any:
    store = open_store(old_store_url)  # applies the migrations this code has beyond the old ones
    yield store
    store.close()


def side(url: str) -> dict[str, Any]:
    return MANIFEST[backend_of(url)]  # type: ignore[no-any-return]


def test_every_row_survives_the_upgrade(old_store_url: str, upgraded: Any) -> None:
    tables = side(old_store_url)["tables"]
    after = digests(old_store_url, tables)  # over the old release's columns, after this code's migrations
    expected = {t: (spec["count"], spec["sha256"]) for t, spec in tables.items()}
    assert after == expected
    assert sum(spec["count"] for spec in tables.values()) > 100  # the fixture really holds data
    assert {t for t, spec in tables.items() if spec["count"] == 0} <= {"balance_alarms", "rc_claims"}


def test_store_schema_is_current_and_keeps_the_old_migrations(old_store_url: str, upgraded: Any) -> None:
    schema = store_schema(upgraded)
    assert schema["pending"] == [] and schema["unknown"] == []
    old = MANIFEST["migrations"]["sqlite"] if backend_of(old_store_url) == "sqlite" else side(old_store_url)[
        "migrations"]
    assert set(old) <= set(applied_migrations(upgraded))


def test_lots_mean_the_same(upgraded: Any) -> None:
    for lot_id, old in MANIFEST["lots"].items():
        lot = upgraded.get_lot(lot_id)
        assert lot is not None, lot_id
        assert {k: lot[k] for k in old} == old, lot_id
    masses = {lot_id: lot["net_mass_kg"] for lot_id, lot in MANIFEST["lots"].items()}
    assert masses["LOT-A"] == pytest.approx(1215.9) and MANIFEST["lots"]["LOT-C"]["status"] == "open"


def test_tokens_and_sessions_still_work(old_store_url: str, upgraded: Any) -> None:
    auth = AuthRepo(upgraded.db)
    users = side(old_store_url)["users"]
    for name, user in users.items():
        principal = auth.authenticate(user["token"])
        if user["valid"]:
            assert principal is not None and (principal.name, principal.role) == (name, user["role"])
        else:
            assert principal is None, name
    assert auth.authenticate(users["eng-ben"]["token_before_rotation"]) is None  # rotated away: stays so
    session = side(old_store_url)["session"]
    principal = auth.session(session["value"])
    assert principal is not None and principal.name == session["user"]


def test_old_evidence_verifies_with_the_old_keys_and_new_evidence_agrees(old_store_url: str, upgraded: Any,
                                                                        tmp_path: Path) -> None:
    keys_dir = tmp_path / "keys"
    public = keys.public_keys(keys_dir)
    signed_by = {item["kid"] for item in MANIFEST["evidence"]}
    assert len(signed_by) == 2 and signed_by <= set(public)
    for item in MANIFEST["evidence"]:
        token = (FIXTURES / "evidence" / item["file"]).read_text(encoding="utf-8").strip()
        checked = verify_token(token, public[item["kid"]])
        assert sha256_json(checked["payload"]) == item["payload_sha256"]
        assert checked["header"]["kid"] == item["header_kid"]
        other = next(k for k in signed_by if k != item["kid"])
        with pytest.raises(VerifyError):
            verify_token(token, public[other])
        # the same lot's evidence built now from the upgraded store states the same mass
        data, _ = produce(upgraded, item["lot_id"], "jws", keys_dir)
        active = keys.active(keys_dir)
        assert active.kid not in signed_by  # the keyring's rotation history survived: a third, newer key
        now = verify_token(data.decode().strip(), keys.public_keys(keys_dir)[active.kid])
        assert now["payload"]["credentialSubject"]["lot"]["net_mass_kg"] == item["lot_mass_kg"]


def test_process_steps_keep_their_balance(old_store_url: str, upgraded: Any) -> None:
    db = upgraded.db
    for step_id, old in side(old_store_url)["steps"].items():
        row = get_step(db, step_id)
        assert row is not None and {k: row[k] for k in old} == old, step_id


def test_the_row_check_catches_a_changed_value(tmp_path: Path) -> None:
    """The digests are not vacuous: one changed mass in one row changes the lots table's digest."""
    url = f"sqlite:///{tmp_path / 'g.db'}"
    place_gateway_store(url, tmp_path)
    tables = {"lots": MANIFEST["sqlite"]["tables"]["lots"]}
    assert digests(url, tables)["lots"] == (tables["lots"]["count"], tables["lots"]["sha256"])
    conn = sqlite3.connect(tmp_path / "g.db")
    conn.execute("UPDATE lots SET net_mass_kg = net_mass_kg + 0.001 WHERE lot_id = 'LOT-A'")
    conn.commit()
    conn.close()
    assert digests(url, tables)["lots"] != (tables["lots"]["count"], tables["lots"]["sha256"])
    assert table_digest([(1.0,)]) != table_digest([(1,)]) and table_digest([("1",)]) != table_digest([(1,)])


def outbox_rows(box: SqliteOutbox) -> list[dict[str, Any]]:
    import hashlib

    return [{"seq": m.seq, "msg_id": m.msg_id, "kind": m.kind, "topic": m.topic, "data_class": m.data_class,
             "payload_sha256": hashlib.sha256(m.payload).hexdigest()} for m in box.after(0, 100_000)]


def test_outbox_opens_migrated_and_the_agent_resumes(tmp_path: Path) -> None:
    path = place_outbox(tmp_path / "outbox.db")
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 0  # as 0.1.0 left it
    box = SqliteOutbox(path)
    assert box.schema_version() == SCHEMA_VERSION
    old = MANIFEST["outbox"]
    assert outbox_rows(box) == old["rows"] and len(old["rows"]) >= 2
    assert box.load_state() == old["state"]
    config = load_config(REPO / "firmware_configs/lines/demo_line.yaml", {"outbox.path": str(path)})
    agent = MANIFEST["agent"]
    core = AgentCore(config, box, AgentTopics(agent["site"], agent["line"], agent["agent"]), new_id())
    assert core.seq == old["state"]["seq"]
    assert core.device_seq == old["state"]["device_seq"]
    live = core.live_lot()
    assert live is not None and live.lot_id == MANIFEST["open_lot"]["lot_id"]
    assert (live.net_mass_kg, live.n_weighings) == (MANIFEST["open_lot"]["net_mass_kg"],
                                                    MANIFEST["open_lot"]["n_weighings"])
    box.close()


@pytest.mark.integration
def test_outbox_backlog_is_delivered_once_to_the_upgraded_gateway(old_store_url: str, tmp_path: Path) -> None:
    """The old agent's unacked backlog goes through a real Mosquitto to the upgraded gateway exactly once;
    the resumed open lot then closes with the mass the old agent had weighed, under the next seq."""
    agent = MANIFEST["agent"]
    plant = Plant(tmp_path / "plant", db_url=old_store_url)
    port = PtyPort()  # no device behind it: only the backlog and the close moves anything
    try:
        plant.start_broker()
        plant.start_gateway()
        config = plant.agent_config({"scale-pp": port.path},
                                    overrides={"outbox.ack_timeout_s": 2, "status_interval_s": 1})
        outbox = place_outbox(plant.workdir / f"{agent['agent']}-outbox.db")
        plant.start_agent(config)
        plant.wait_for(lambda: sqlite3.connect(outbox).execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0,
                       60, "the old backlog acked by the upgraded gateway")
        rest_operator(plant.api, agent["line"])("close", MANIFEST["open_lot"]["lot_id"])
        lot = plant.wait_for(lambda: next((x for x in plant.get("/api/v1/lots?status=closed&limit=1000")
                                           if x["lot_id"] == MANIFEST["open_lot"]["lot_id"]), None),
                             30, "the resumed lot closed")
    finally:
        plant.stop()
        port.close()
    assert lot["net_mass_kg"] == pytest.approx(MANIFEST["open_lot"]["net_mass_kg"], abs=1e-6)
    assert lot["n_weighings"] == MANIFEST["open_lot"]["n_weighings"]
    store = open_store(old_store_url)
    try:
        backlog = MANIFEST["backlog"]["readings_per_message"]
        for msg_id, n in backlog.items():
            got = store._scalar("SELECT COUNT(*) FROM readings WHERE agent = ? AND msg_id = ?",
                                (agent["agent"], msg_id))
            assert got == n, msg_id
        weighings = store._rows("SELECT value FROM readings WHERE lot_id = ? AND kind = 'weighing' ORDER BY value",
                                (MANIFEST["open_lot"]["lot_id"],))
        assert len(weighings) == MANIFEST["open_lot"]["n_weighings"]  # none twice, none lost
        weighed = [w[0] for w in MANIFEST["outbox"]["state"]["open_lot"]["evidence"]["weighings"]]
        assert sorted(r["value"] for r in weighings) == sorted(weighed)
        assert set(MANIFEST["backlog"]["weighings_kg"]) < set(weighed)  # some came only with the backlog
        stored = store._scalar("SELECT COUNT(*) FROM messages WHERE agent = ?", (agent["agent"],))
        new_seqs = store._rows("SELECT seq FROM messages WHERE agent = ? AND seq > ? ORDER BY seq",
                               (agent["agent"], MANIFEST["outbox"]["state"]["seq"]))
    finally:
        store.close()
    assert stored == MANIFEST["delivered_through_seq"] + len(MANIFEST["outbox"]["rows"]) + len(new_seqs)
    assert new_seqs and new_seqs[0]["seq"] == MANIFEST["outbox"]["state"]["seq"] + 1  # seq resumed, none reused
