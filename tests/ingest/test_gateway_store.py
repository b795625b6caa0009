"""Validation at the boundary and the store's exactly-once rules."""

from __future__ import annotations

import json
from datetime import timedelta

from gateway.ingest.validate import ack_target, validate
from gateway.store.base import DeadLetter, Incoming
from junkan.core.ids import new_id
from junkan.core.messages import StatusMessage
from junkan.core.topics import Kind
from tests.wire import T0, dump, lot_message, reading_message, status, topic, weighings

MAX = 1_000_000


def incoming(message) -> Incoming:  # type: ignore[no-untyped-def]
    kind = Kind.READING if message.__class__.__name__ == "ReadingMessage" else Kind.LOT
    result = validate(topic(kind), dump(message), MAX)
    assert isinstance(result, Incoming), result
    return result


def test_valid_messages_pass_and_bad_ones_get_reasons() -> None:
    good = reading_message(1, weighings([0, 1]))
    assert isinstance(validate(topic(Kind.READING), dump(good), MAX), Incoming)
    cases = {
        b"not json": "not_json:",
        b"[1,2]": "schema:",
        json.dumps({"schema": "junkan.reading/1"}).encode(): "schema:",
        dump(lot_message(1, "opened")): "not allowed on reading topic",
        dump(reading_message(1, weighings([0]), agent="someone-else")):
            "identity_mismatch: agent 'someone-else' does not match",
        (b"[" * 100 + b"]" * 100): "too_deep: JSON nested deeper",
    }
    for payload, reason in cases.items():
        result = validate(topic(Kind.READING), payload, MAX)
        assert isinstance(result, DeadLetter) and reason in result.reason, (payload[:40], result)
    assert validate(topic(Kind.READING), dump(good), 100).reason.startswith("too_large:")  # type: ignore[union-attr]
    assert validate("junkan/v1/a/b", dump(good), MAX).reason.startswith("bad_topic:")  # type: ignore[union-attr]
    bad_value = json.loads(dump(good))
    bad_value["body"]["readings"][0]["value"] = "heavy"
    result = validate(topic(Kind.READING), json.dumps(bad_value).encode(), MAX)
    assert isinstance(result, DeadLetter) and "readings.0.value" in result.reason


def test_dead_lettered_durable_message_is_acked_as_rejected_to_its_agent() -> None:
    msg_id = "01JDAAAAAAAAAAAAAAAAAAAAAA"
    payload = json.dumps({"msg_id": msg_id, "schema": "nope"}).encode()
    letter = validate(topic(Kind.READING), payload, MAX)
    assert isinstance(letter, DeadLetter) and letter.msg_id == msg_id
    assert ack_target(topic(Kind.READING), letter) == topic(Kind.ACK)
    assert ack_target(topic(Kind.STATUS), letter) is None
    garbage = validate(topic(Kind.READING), b"garbage", MAX)
    assert isinstance(garbage, DeadLetter) and ack_target(topic(Kind.READING), garbage) is None


def test_redelivered_message_is_stored_once(gateway_store) -> None:  # type: ignore[no-untyped-def]
    msg = incoming(reading_message(1, weighings([0, 1, 2])))
    first = gateway_store.commit_batch([msg], [], [])
    again = gateway_store.commit_batch([msg, msg], [], [])
    assert [a.result for a in first] == ["stored"]
    assert [a.result for a in again] == ["duplicate", "duplicate"]
    assert gateway_store.counts()["readings"] == 3
    assert gateway_store.counts()["messages"] == 1


def test_close_wins_over_open_whatever_the_arrival_order(gateway_store) -> None:  # type: ignore[no-untyped-def]
    opened, closed = incoming(lot_message(1, "opened")), incoming(lot_message(2, "closed", net=512.25))
    gateway_store.commit_batch([closed], [], [])
    gateway_store.commit_batch([opened], [], [])
    lot = gateway_store.get_lot("LOT-1")
    assert lot["status"] == "closed" and lot["net_mass_kg"] == 512.25 and lot["n_weighings"] == 2


def test_dead_letters_are_stored_with_raw_bytes(gateway_store) -> None:  # type: ignore[no-untyped-def]
    gateway_store.commit_batch([], [DeadLetter("t/x", b"\xff\x00raw", "not JSON: boom")], [])
    (row,) = gateway_store.dead_letters()
    assert row["reason"] == "not JSON: boom" and row["topic"] == "t/x"
    raw = gateway_store.db.scalar("SELECT payload FROM dead_letters")
    assert bytes(raw) == b"\xff\x00raw"


def test_late_will_of_old_session_does_not_mark_new_session_offline(gateway_store) -> None:  # type: ignore[no-untyped-def]
    old, new = new_id(), new_id()
    gateway_store.commit_batch([], [], [status("online", old, T0)])
    gateway_store.commit_batch([], [], [status("online", new, T0 + timedelta(seconds=5))])
    gateway_store.commit_batch([], [], [status("offline", old, T0 + timedelta(seconds=6))])
    (agent,) = gateway_store.list_agents()
    assert agent["session"] == new and agent["state"] == "online"
    gateway_store.commit_batch([], [], [status("offline", new, T0 + timedelta(seconds=7))])
    assert gateway_store.list_agents()[0]["state"] == "offline"
    assert isinstance(status(), StatusMessage)
