"""The store contract, run against every backend (``store`` fixture: SQLite and PostgreSQL).

Same inputs, same answers: deduplication on (agent, msg_id), lot close winning over open, atomic
batches, dead letters with their raw bytes, late Wills ignored, and the read queries the API uses.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta

import pytest

from gateway.store import open_store
from gateway.store.base import DeadLetter, Incoming
from junkan.core.ids import new_id
from junkan.core.topics import Kind
from tests.wire import (
    FAILED_MEASUREMENT,
    T0,
    agent_topics,
    incoming,
    lot_message,
    reading_message,
    status,
    xrf_readings,
)


def test_stored_once_then_acked_as_duplicate(store) -> None:  # type: ignore[no-untyped-def]
    msg = incoming(reading_message(1, xrf_readings(range(3))))
    first = store.commit_batch([msg], [], [])
    again = store.commit_batch([msg, msg], [], [])  # redelivered, twice in one batch
    assert [a.result for a in first] == ["stored"]
    assert [a.result for a in again] == ["duplicate", "duplicate"]
    assert store.counts()["messages"] == 1 and store.counts()["readings"] == 3


def test_same_message_twice_in_one_batch_is_stored_once(store) -> None:  # type: ignore[no-untyped-def]
    a, b = incoming(reading_message(1, xrf_readings([0]))), incoming(reading_message(2, xrf_readings([1])))
    acks = store.commit_batch([a, b, a], [], [])
    assert [(x.msg_id, x.result) for x in acks] == [
        (a.message.msg_id, "stored"), (b.message.msg_id, "stored"), (a.message.msg_id, "duplicate")]
    assert store.counts()["readings"] == 2


def test_same_msg_id_from_two_agents_are_two_messages(store) -> None:  # type: ignore[no-untyped-def]
    one = reading_message(1, xrf_readings([0], lot_id=None), agent="agent-1")  # a lot would belong to one of them
    two = one.model_copy(update={"agent": "agent-2"})
    acks = store.commit_batch([incoming(one), incoming(two)], [], [])
    assert [a.result for a in acks] == ["stored", "stored"]


def test_large_batch_keeps_every_reading_with_its_data(store) -> None:  # type: ignore[no-untyped-def]
    msgs = [incoming(reading_message(i + 1, xrf_readings(range(i * 1000, (i + 1) * 1000)))) for i in range(3)]
    acks = store.commit_batch(msgs, [], [])
    assert {a.result for a in acks} == {"stored"}
    rows = store.lot_readings("LOT-1")
    assert len(rows) == 3000
    assert [r["device_seq"] for r in rows] == list(range(3000))
    assert rows[1234]["data"] == {"cu": 0.12, "fe": 95.1, "seq": 1234} and rows[1234]["unit"] == "%"
    assert store.lot_readings("LOT-1", kind="weighing") == []
    (device,) = store.list_devices()
    assert device["device"] == "xrf-1" and device["last_reading_at"] == (T0 + timedelta(milliseconds=2999)).isoformat()


def test_close_wins_over_open_whatever_the_arrival_order(store) -> None:  # type: ignore[no-untyped-def]
    opened = incoming(lot_message(1, "opened"))
    closed = incoming(lot_message(2, "closed", net=512.25, devices=["scale-1"], measurement=FAILED_MEASUREMENT))
    store.commit_batch([closed], [], [])
    store.commit_batch([opened], [], [])
    lot = store.get_lot("LOT-1")
    assert lot["status"] == "closed" and lot["net_mass_kg"] == 512.25 and lot["n_weighings"] == 2
    assert lot["devices"] == ["scale-1"] and lot["measurement"] == FAILED_MEASUREMENT
    assert store.get_lot("LOT-404") is None


def test_close_carries_the_open_time_the_agent_corrected_after_a_clock_step(store) -> None:  # type: ignore[no-untyped-def]
    """A Pi booted 10 h behind opens a lot, NTP steps the clock, the agent shifts the open time: the close's
    ``opened_at`` is the true one and must replace the stale one, or the lot reads 10 h long at the gateway."""
    stale = T0 - timedelta(hours=10)
    store.commit_batch([incoming(lot_message(1, "opened", opened=stale))], [], [])
    store.commit_batch([incoming(lot_message(2, "closed", net=80.0, opened=T0))], [], [])
    lot = store.get_lot("LOT-1")
    assert datetime.fromisoformat(lot["opened_at"]) == T0
    assert datetime.fromisoformat(str(lot["closed_at"])) - T0 == timedelta(minutes=5)


def test_list_lots_filters_and_pages(store) -> None:  # type: ignore[no-untyped-def]
    msgs = [incoming(lot_message(i + 1, "opened", lot_id=f"L1-{i:03d}"), line="line-1") for i in range(5)]
    msgs += [incoming(lot_message(9, "closed", lot_id="L2-001", line="line-2"), line="line-2")]
    store.commit_batch(msgs, [], [])
    assert [lot["lot_id"] for lot in store.list_lots(line="line-1", limit=2, offset=1)] == ["L1-001", "L1-002"]
    assert [lot["lot_id"] for lot in store.list_lots(status="closed")] == ["L2-001"]
    assert [lot["lot_id"] for lot in store.list_lots(q="L1-00")] == [f"L1-{i:03d}" for i in range(5)]
    assert store.list_lots(q="100%") == []  # a LIKE wildcard in the query is just a parameter


def test_dead_letters_keep_raw_bytes(store) -> None:  # type: ignore[no-untyped-def]
    store.commit_batch([], [DeadLetter("t/x", b"\xff\x00raw", "not JSON: boom")], [])
    (row,) = store.dead_letters()
    assert row["reason"] == "not JSON: boom" and row["topic"] == "t/x"
    assert row["payload"] == "\ufffd\x00raw"
    assert bytes(store.db.scalar("SELECT payload FROM dead_letters")) == b"\xff\x00raw"  # stored as the bytes came
    assert store.counts()["dead_letters"] == 1


def test_late_will_of_old_session_does_not_mark_new_session_offline(store) -> None:  # type: ignore[no-untyped-def]
    old, new = new_id(), new_id()
    store.commit_batch([], [], [status("online", old, T0)])
    store.commit_batch([], [], [status("online", new, T0 + timedelta(seconds=5))])
    store.commit_batch([], [], [status("offline", old, T0 + timedelta(seconds=6))])
    (agent,) = store.list_agents()
    assert agent["session"] == new and agent["state"] == "online"
    store.commit_batch([], [], [status("offline", new, T0 + timedelta(seconds=7))])
    assert store.agents_for_line("line-1")[0]["state"] == "offline"
    assert store.agents_for_line("line-9") == []


def test_failed_batch_writes_nothing_and_the_store_stays_usable(store) -> None:  # type: ignore[no-untyped-def]
    good = incoming(reading_message(1, xrf_readings([0, 1])))
    unstorable = DeadLetter("t/x", object(), "payload the database cannot take")  # type: ignore[arg-type]
    with pytest.raises(Exception):  # noqa: B017 - each driver raises its own adapter error
        store.commit_batch([good], [unstorable], [])
    assert store.counts()["messages"] == 0 and store.counts()["readings"] == 0
    assert [a.result for a in store.commit_batch([good], [], [])] == ["stored"]


def test_text_with_nul_is_stored_not_a_batch_that_fails_forever(store) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL TEXT cannot hold NUL, which validation lets through in free text: before the fix one such
    reading failed its batch on every retry (ingest wedged) on PostgreSQL while SQLite stored it."""
    from gateway.ingest.validate import validate
    from junkan.core.messages import dump

    wire = json.loads(dump(reading_message(1, xrf_readings([0]))))
    wire["body"]["readings"][0]["unit"] = "k\x00g"
    odd = validate(agent_topics().topic(Kind.READING), json.dumps(wire).encode(), 10**6)
    assert isinstance(odd, Incoming), odd
    good = incoming(reading_message(2, xrf_readings([1])))
    assert [a.result for a in store.commit_batch([odd, good], [], [])] == ["stored", "stored"]
    units = [r["unit"] for r in store.lot_readings("LOT-1")]
    assert units[0] in ("k\x00g", "k\ufffdg") and units[1] == "%"  # PostgreSQL: U+FFFD stands in for NUL
    assert store.get_lot("LOT\x00-1") is None and store.list_lots(q="\x00") == []  # a NUL key finds nothing
    assert [a.result for a in store.commit_batch([odd], [], [])] == ["duplicate"]


def test_reopening_applies_no_migration_twice(store_url: str) -> None:
    first = open_store(store_url)
    first.commit_batch([incoming(reading_message(1, xrf_readings([0])))], [], [])
    first.close()
    second = open_store(store_url)
    assert second.counts()["readings"] == 1
    second.close()


@pytest.mark.postgres
def test_workers_starting_together_migrate_once(pg_url: str) -> None:
    """Without the advisory lock, concurrent CREATE TABLEs collide; with it every worker starts."""
    from gateway.store.postgres import PostgresStore

    opened: list[PostgresStore] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def start() -> None:
        barrier.wait()
        try:
            opened.append(PostgresStore(pg_url, pool_size=1))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    try:
        assert errors == [] and len(opened) == 6
        (applied,) = opened[0]._rows("SELECT COUNT(*) AS n FROM junkan_migrations")
        from gateway.store.schema import MIGRATIONS

        assert applied["n"] == len(MIGRATIONS)
    finally:
        for s in opened:
            s.close()


def test_api_reads_through_either_store(store) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from gateway.app import create_app
    from gateway.settings import GatewaySettings

    store.commit_batch([incoming(lot_message(1, "closed", net=42.5)), incoming(reading_message(2, xrf_readings([0])))],
                       [], [status("online")])
    client = TestClient(create_app(GatewaySettings(consume=False), store))
    lots = client.get("/api/v1/lots").json()
    assert [(lot["lot_id"], lot["net_mass_kg"]) for lot in lots] == [("LOT-1", 42.5)]
    assert len(client.get("/api/v1/lots/LOT-1/readings").json()) == 1
    assert client.get("/api/v1/lots/nope").status_code == 404
