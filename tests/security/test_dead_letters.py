"""Dead letters as an operator tool: a byte budget per agent, retention, paging and filters, replay."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.ingest.validate import validate
from gateway.settings import GatewaySettings
from gateway.store.base import DeadLetter
from gateway.store.sql import WriteOptions
from junkan.core.messages import dump
from junkan.core.topics import AgentTopics, Kind
from tests.wire import reading_message, weighings

A1, A2 = AgentTopics("site-a", "line-1", "agent-1"), AgentTopics("site-a", "line-2", "agent-2")


def test_past_its_budget_an_agent_keeps_only_heads_with_size_and_sha256(gateway_store) -> None:  # type: ignore[no-untyped-def]
    options = WriteOptions(budget_bytes_per_agent=2500, keep_bytes=100)
    payloads = [bytes([65 + i]) * 1000 for i in range(5)]
    gateway_store.commit_batch([], [DeadLetter(A1.topic(Kind.READING), p, "schema: x") for p in payloads[:3]], [],
                               options)
    gateway_store.commit_batch([], [DeadLetter(A1.topic(Kind.READING), p, "schema: x") for p in payloads[3:]]
                               + [DeadLetter(A2.topic(Kind.READING), payloads[0], "schema: y")], [], options)
    rows = {(r["agent"], r["id"]): r for r in gateway_store.dead_letters()}
    mine = [r for (agent, _id), r in sorted(rows.items()) if agent == "agent-1"]
    assert [len(r["payload"]) for r in mine] == [1000, 1000, 100, 100, 100]
    assert [r["truncated"] for r in mine] == [False, False, True, True, True]
    assert all(r["size"] == 1000 for r in mine)
    assert [r["sha256"] for r in mine] == [hashlib.sha256(p).hexdigest() for p in payloads]
    (other,) = [r for (agent, _id), r in rows.items() if agent == "agent-2"]
    assert len(other["payload"]) == 1000 and not other["truncated"]  # one agent cannot use another's budget


def test_retention_purges_old_dead_letters(gateway_store) -> None:  # type: ignore[no-untyped-def]
    gateway_store.commit_batch([], [DeadLetter(A1.topic(Kind.READING), b"old", "schema: x")], [])
    later = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    gateway_store.commit_batch([], [], [], WriteOptions(purge_before=later))
    assert gateway_store.dead_letters() == []


def test_api_pages_and_filters(gateway_store) -> None:  # type: ignore[no-untyped-def]
    letters = [DeadLetter((A1 if i % 2 else A2).topic(Kind.READING), b"{}", f"{'schema' if i % 3 else 'not_json'}: {i}")
               for i in range(30)]
    gateway_store.commit_batch([], letters, [])
    api = TestClient(create_app(GatewaySettings(), gateway_store))
    first = api.get("/api/v1/dead-letters?limit=10").json()
    second = api.get(f"/api/v1/dead-letters?limit=10&before_id={first[-1]['id']}").json()
    assert len(first) == len(second) == 10 and first[-1]["id"] > second[0]["id"]
    assert [r["id"] for r in api.get("/api/v1/dead-letters?limit=10&offset=10").json()] == [r["id"] for r in second]
    schema = api.get("/api/v1/dead-letters?reason=schema&agent=agent-1&limit=1000").json()
    assert schema and all(r["reason"].startswith("schema:") and r["agent"] == "agent-1" for r in schema)
    assert len(schema) == sum(1 for i in range(30) if i % 3 and i % 2)
    assert api.get("/api/v1/dead-letters?reason=bogus").status_code == 422


def test_cli_lists_and_replays_after_the_window_is_widened(gateway_db_url, gateway_store, junkan) -> None:  # type: ignore[no-untyped-def]
    ahead = reading_message(1, weighings([0]))
    ahead = ahead.model_copy(update={"sent_at": datetime.now(UTC) + timedelta(hours=2)})  # a clock 2 h fast
    letter = validate(A1.topic(Kind.READING), dump(ahead))
    assert isinstance(letter, DeadLetter) and letter.code == "clock_window"
    gateway_store.commit_batch([], [letter, DeadLetter(A1.topic(Kind.READING), b"junk", "not_json: x")], [])
    listed = junkan("gateway", "dead-letters", "list", "--db", gateway_db_url, "--reason", "clock_window")
    assert listed.returncode == 0
    (row,) = [json.loads(line) for line in listed.stdout.splitlines()]
    refused = junkan("gateway", "dead-letters", "replay", "--db", gateway_db_url, "--id", str(row["id"]))
    assert refused.returncode == 1 and "still refused: clock_window" in refused.stdout
    assert gateway_store.counts()["messages"] == 0
    replayed = junkan("gateway", "dead-letters", "replay", "--db", gateway_db_url, "--reason", "clock_window",
                      "--set", "ingest.max_future_s=10800")
    assert replayed.returncode == 0, replayed
    assert json.loads(replayed.stdout.splitlines()[0])["result"] == "stored"
    assert gateway_store.counts()["readings"] == 1
    again = junkan("gateway", "dead-letters", "replay", "--db", gateway_db_url, "--reason", "clock_window")
    assert again.stdout == ""  # marked replayed: not picked again
    (done,) = gateway_store.dead_letters(reason="clock_window")
    assert done["replay_result"] == "stored" and done["replayed_at"]


def test_dashboard_and_api_replay_after_the_window_is_widened(gateway_store) -> None:  # type: ignore[no-untyped-def]
    """The dead-letters page filters by reason and agent, pages by id, and its replay button calls the API,
    which validates again with today's settings: refused with the narrow window, stored with the wide one."""
    ahead = reading_message(1, weighings([0])).model_copy(update={"sent_at": datetime.now(UTC) + timedelta(hours=2)})
    letter = validate(A1.topic(Kind.READING), dump(ahead))
    assert isinstance(letter, DeadLetter) and letter.code == "clock_window"
    noise = [DeadLetter(A2.topic(Kind.READING), b"junk", f"not_json: {i}") for i in range(120)]
    gateway_store.commit_batch([], [letter, *noise], [])
    (row,) = gateway_store.dead_letters(reason="clock_window")
    narrow = TestClient(create_app(GatewaySettings(consume=False), gateway_store))
    page = narrow.get("/dead-letters?reason=clock_window").text
    route = f"/api/v1/dead-letters/{row['id']}/replay"
    assert f'data-route="{route}"' in page and "not_json: 5" not in page  # filtered on the server
    first = narrow.get("/dead-letters?reason=not_json").text
    assert first.count('data-test="replay-dead"') == 100 and 'data-test="dead-older"' in first  # one page of 100
    older = first.split('data-test="dead-older" href="')[1].split('"')[0].replace("&amp;", "&")
    rest = narrow.get(older).text
    assert rest.count('data-test="replay-dead"') == 20 and "clock_window" not in rest.split("<tbody>")[1]
    refused = narrow.post(route)
    assert refused.status_code == 200 and refused.json()["result"].startswith("still refused: clock_window")
    assert gateway_store.counts()["readings"] == 0
    wide = TestClient(create_app(GatewaySettings(consume=False, ingest={"max_future_s": 10800}),  # type: ignore[arg-type]
                                 gateway_store))
    stored = wide.post(route)
    assert stored.status_code == 200 and stored.json()["result"] == "stored", stored.json()
    assert gateway_store.counts()["readings"] == 1
    assert wide.post(route).json()["result"] == "duplicate" and gateway_store.counts()["readings"] == 1
    assert "stored by a replay" in wide.get("/dead-letters?reason=clock_window").text
    assert wide.post("/api/v1/dead-letters/999999/replay").status_code == 404
