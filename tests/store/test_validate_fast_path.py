"""The fast validation path (pydantic's JSON parser) accepts exactly what the full path accepts."""

from __future__ import annotations

import json

import pytest

from gateway.ingest import validate as v
from gateway.store.base import DeadLetter, Incoming
from junkan.core.messages import dump
from junkan.core.topics import Kind
from tests.store.factory import agent_topics, lot_message, reading_message, readings

TOPIC = agent_topics().topic(Kind.READING)


def nested(depth: int) -> dict:  # type: ignore[type-arg]
    node: dict = {}  # type: ignore[type-arg]
    for _ in range(depth - 1):
        node = {"x": node}
    return node


def with_data(data: object) -> bytes:
    obj = json.loads(dump(reading_message(1, readings([0]))))
    obj["body"]["readings"][0]["data"] = data
    return json.dumps(obj).encode()


@pytest.mark.parametrize("payload", [
    dump(reading_message(1, readings(range(5)))),
    with_data(nested(28)),  # the deepest data that fits MAX_DEPTH = 32
    with_data(nested(29)),  # one too deep: dead letter on both paths
    with_data(nested(300)),
    with_data({"v": float("nan")}),
    dump(reading_message(1, readings([0]), agent="someone-else")),
    dump(lot_message(1, "closed")),
    b'{"schema": "junkan.reading/1"}',
    b"\xff\xfe",
])
def test_fast_path_agrees_with_full_path(payload: bytes) -> None:
    got = v.validate(TOPIC, payload, 1_000_000)
    fast = v._fast_durable(TOPIC, payload, 1_000_000)
    if fast is not None:
        assert isinstance(got, Incoming) and dump(got.message) == dump(fast.message)  # (NaN != NaN)
    # the full path alone (fast path disabled) decides the same way
    original = v._fast_durable
    try:
        v._fast_durable = lambda *_a: None  # type: ignore[assignment]
        full = v.validate(TOPIC, payload, 1_000_000)
    finally:
        v._fast_durable = original
    assert type(full) is type(got)
    if isinstance(full, DeadLetter):
        assert isinstance(got, DeadLetter) and got.reason == full.reason
    else:
        assert dump(got.message) == dump(full.message)  # type: ignore[union-attr]
