"""The gateway validates in one pass (pydantic's JSON parser into TypedDict records, strict mode): what
honest agents send comes out unchanged, and every refusal names its reason code."""

from __future__ import annotations

import json

import pytest

from gateway.ingest import validate as v
from gateway.store.base import DeadLetter, Incoming
from junkan.core.messages import ReadingRecords, dump
from junkan.core.topics import Kind
from tests.wire import FAILED_MEASUREMENT, agent_topics, lot_message, reading_message, xrf_readings

TOPIC = agent_topics().topic(Kind.READING)


def nested(depth: int) -> dict:  # type: ignore[type-arg]
    node: dict = {}  # type: ignore[type-arg]
    for _ in range(depth - 1):
        node = {"x": node}
    return node


def with_data(data: object) -> bytes:
    obj = json.loads(dump(reading_message(1, xrf_readings([0]))))
    obj["body"]["readings"][0]["data"] = data
    return json.dumps(obj).encode()


def test_honest_messages_come_out_as_the_agent_built_them() -> None:
    message = reading_message(1, xrf_readings(range(5)))
    got = v.validate(TOPIC, dump(message), 1_000_000)
    assert isinstance(got, Incoming) and isinstance(got.message, ReadingRecords)
    assert dump(got.message) == dump(message)  # byte-compatible wire: nothing coerced, nothing dropped
    assert got.payload == dump(message)
    lot = lot_message(2, "closed", devices=["scale-1"], measurement=FAILED_MEASUREMENT)  # the failure report
    got_lot = v.validate(agent_topics().topic(Kind.LOT), dump(lot), 1_000_000)
    assert isinstance(got_lot, Incoming) and dump(got_lot.message) == dump(lot)


@pytest.mark.parametrize(("payload", "code"), [
    (with_data(nested(28)), None),  # the deepest data that fits MAX_DEPTH = 32
    (with_data(nested(29)), "too_deep"),
    (with_data(nested(300)), "too_deep"),
    (b"[" * 5000 + b"]" * 5000, "too_deep"),  # refused on the bytes, before any parser
    (with_data({"v": float("nan")}), "non_finite"),
    (with_data({"v": float("inf")}), "non_finite"),
    (with_data({"v": 2**63}), "int_range"),
    (with_data({"v": "NaN", "w": "12345678901234567890"}), None),  # look-alikes inside strings are text
    (dump(reading_message(1, xrf_readings([0]), agent="someone-else")), "identity_mismatch"),
    (dump(lot_message(1, "closed")), "schema"),  # a lot message on the reading topic
    (b'{"schema": "junkan.reading/1"}', "schema"),
    (b"\xff\xfe", "not_json"),
])
def test_each_refusal_names_its_reason(payload: bytes, code: str | None) -> None:
    got = v.validate(TOPIC, payload, 1_000_000)
    if code is None:
        assert isinstance(got, Incoming), got
    else:
        assert isinstance(got, DeadLetter) and got.code == code, got


def test_nesting_check_on_bytes_ignores_brackets_in_strings() -> None:
    assert not v._nesting_exceeds(json.dumps({"s": "[" * 100}).encode(), 32)
    assert v._nesting_exceeds(b'{"a":' + b"[" * 40 + b"]" * 40 + b"}", 32)
    assert not v._nesting_exceeds(b"[" * 40, 32)  # unbalanced: the parser names it (not JSON)
