"""The ingest hot-path shortcuts (issue 8) store exactly what the plain code stored.

``utc_text`` must give ``iso()``'s text for every timestamp, ``json_text`` the same JSON value as the
stdlib encoder (NaN included), and the flat-data depth shortcut must reject what ``_depth`` rejects.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter

from gateway.ingest.validate import MAX_DEPTH, _depth, _too_deep, validate
from gateway.store.base import DeadLetter, Incoming
from gateway.store.sql import _COMPACT, PARSED_UTC, BatchWriter, iso, json_text, utc_text
from junkan.core import topics
from junkan.core.ids import new_id
from junkan.core.messages import ReadingMessage, ReadingRecords
from junkan.core.topics import AgentTopics
from tests.scaleout.load import reading_payloads

_zones = st.one_of(st.none(), st.just(UTC),
                   st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m))))
_json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**62), 2**62), st.text(max_size=8),
                          st.floats(allow_nan=True, allow_infinity=True))
_json = st.recursive(_json_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                             st.dictionaries(st.text(max_size=5), inner, max_size=4)),
                     max_leaves=20)


@given(st.datetimes(timezones=_zones))
def test_utc_text_is_iso(ts: datetime) -> None:
    assert utc_text(ts) == iso(ts)


@given(st.datetimes())
def test_utc_text_of_parsed_timestamps_is_iso(naive: datetime) -> None:
    """The shortcut for pydantic's own UTC tzinfo (every "...Z" timestamp) gives isoformat()'s text,
    microseconds or not, any year, whether it goes through the rows or ``utc_text``."""
    ts = TypeAdapter(datetime).validate_python(naive.isoformat() + "Z")
    assert ts.tzinfo is PARSED_UTC
    assert utc_text(ts) == iso(ts) == ts.isoformat()
    message = ReadingRecords.model_validate({
        "msg_id": new_id(), "agent": "hot-agent", "session": new_id(), "seq": 1, "sent_at": ts,
        "body": {"readings": [{"device": "d", "device_seq": 0, "ts": ts, "kind": "k"}]}})
    inc = Incoming(topics.parse(AgentTopics("site-a", "line-1", "hot-agent").topic(topics.Kind.READING)), message)
    (row,) = BatchWriter._reading_rows(inc)
    assert row[7] == ts.isoformat()


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b and type(a) is type(b))


@given(st.dictionaries(st.text(max_size=8), _json, max_size=6))
def test_json_text_is_the_same_json_value(data: dict[str, Any]) -> None:
    text = json_text(data)
    assert isinstance(text, str)
    assert _same(json.loads(text), json.loads(_COMPACT.encode(data)))


def test_json_text_falls_back_for_what_pydantic_core_refuses() -> None:
    lone_surrogate = {"s": "\ud800"}
    assert json_text(lone_surrogate) == _COMPACT.encode(lone_surrogate)


def _nested(depth: int) -> dict[str, Any]:
    d: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        d = {"x": d}
    return d


@given(st.lists(st.integers(1, MAX_DEPTH), min_size=1, max_size=5))
def test_too_deep_agrees_with_depth(depths: list[int]) -> None:
    free = [_nested(d) for d in depths]
    limit = MAX_DEPTH - 4
    assert _too_deep(free, limit) == any(_depth(d, limit) > limit for d in free)


def test_deep_data_still_dead_lettered_and_rows_match_the_plain_build() -> None:
    agent_topics = AgentTopics("site-a", "line-1", "hot-agent")
    (msg,) = reading_payloads(agent_topics, new_id(), 3, 3)
    inc = validate(msg.topic, msg.payload, 1_000_000)
    assert isinstance(inc, Incoming)
    rows = BatchWriter._reading_rows(inc)
    models = ReadingMessage.model_validate_json(msg.payload).body.readings
    plain = [(inc.message.agent, inc.message.msg_id, i, "site-a", "line-1", r.device, r.device_seq, iso(r.ts),
              r.kind, r.value, r.unit, r.status, r.lot_id, _COMPACT.encode(r.data))
             for i, r in enumerate(models)]
    assert rows == plain
    deep = msg.payload.replace(b'"data":{"cu":0.12', b'"data":{"cu":' + json.dumps(_nested(MAX_DEPTH)).encode(), 1)
    assert deep != msg.payload
    result = validate(msg.topic, deep, 1_000_000)
    assert isinstance(result, DeadLetter) and "deeper" in result.reason


def test_utc_text_past_its_caches_is_still_iso() -> None:
    """More distinct days and fractions than the text caches hold: they start again, the text stays right."""
    base = TypeAdapter(datetime).validate_python("2026-01-01T00:00:00Z")
    for i in range(5000):
        ts = base + timedelta(days=i * 3, microseconds=i * 7 + 1)
        assert utc_text(ts) == ts.isoformat(), ts
