"""Validation at the boundary: what passes, and the reason for each message that does not. (The store's
exactly-once rules, on every backend: tests/store/test_store_backends.py.)"""

from __future__ import annotations

import json

from gateway.ingest.validate import ack_target, validate
from gateway.store.base import DeadLetter, Incoming
from junkan.core.topics import Kind
from tests.wire import dump, lot_message, reading_message, topic, weighings

MAX = 1_000_000


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
