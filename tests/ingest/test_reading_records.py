"""The gateway validates readings into ``ReadingRecord`` dicts (issue 8: ~3x cheaper than models). It must
accept and refuse exactly what the ``Reading`` model accepts and refuses, and store the same rows."""

from __future__ import annotations

import json
import typing
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from gateway.store.base import Incoming
from gateway.store.sql import BatchWriter
from junkan.core import topics
from junkan.core.ids import new_id
from junkan.core.messages import Reading, ReadingMessage, ReadingRecord, ReadingRecords

_TOPIC = topics.parse(topics.AgentTopics("site-a", "line-1", "agent-1").topic(topics.Kind.READING))

_VALID = {"device": st.sampled_from(["xrf-1", "scale", "A", "cam.ident:2"]), "device_seq": st.integers(0, 2**40),
          "ts": st.sampled_from(["2026-11-28T09:00:00Z", "2026-11-28T09:00:00.5+09:00", "2026-11-28T09:00:00",
                                 "2026-11-28T09:00:00.123456-03:30"]),
          "kind": st.sampled_from(["xrf", "weight_sample", "nir_counts"]),
          "value": st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False), st.integers(-5, 5)),
          "unit": st.sampled_from([None, "kg", "%", "ppm"]), "status": st.sampled_from([None, "ok", "error"]),
          "lot_id": st.sampled_from([None, "LOT-1", "L.2026:11"]),
          "data": st.dictionaries(st.text(max_size=4), st.one_of(st.integers(), st.text(max_size=3), st.none(),
                                                                  st.lists(st.integers(), max_size=2)), max_size=3)}
_REQUIRED = ("device", "device_seq", "ts", "kind")
_MISSING = object()
# Values just outside each field's constraints (and a few far outside).
_HOSTILE: dict[str, list[Any]] = {
    "device": ["-bad", "x" * 129, "a b", "", "é", 5, None], "device_seq": [-1, 2.5, "x", None, 2**70],
    "ts": ["yesterday", "2026-13-28T09:00:00Z", "2026-11-28T25:00:00Z", None, [1]],
    "kind": ["Bad", "x" * 40, "", "1abc", None], "value": ["nan", "inf", "x", [1], {}, True],
    "unit": ["x" * 17, 5, [], {}], "status": ["bad", "", "OK", 1], "lot_id": ["-bad", "x" * 129, "a b", 1],
    "data": [[], "x", 1, True], "extra": [1, None, "x"]}
_VALID_READING = {"device": "xrf-1", "device_seq": 1, "ts": "2026-11-28T09:00:00Z", "kind": "xrf"}


@st.composite
def raw_readings(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Valid readings (optional keys present or not); half the time one field of one reading is made hostile:
    a wrong value, a missing required key or an unknown key."""
    readings = [{key: draw(values) for key, values in _VALID.items()
                 if key in _REQUIRED or draw(st.booleans())} for _ in range(draw(st.integers(1, 3)))]
    if draw(st.booleans()):
        target = readings[draw(st.integers(0, len(readings) - 1))]
        key = draw(st.sampled_from(sorted(_HOSTILE)))
        if key in _REQUIRED and draw(st.booleans()):
            del target[key]
        else:
            target[key] = draw(st.sampled_from(_HOSTILE[key]))
    return readings


def _envelope(readings: list[dict[str, Any]]) -> bytes:
    return json.dumps({"schema": "junkan.reading/1", "msg_id": new_id(), "agent": "agent-1", "session": new_id(),
                       "seq": 1, "sent_at": "2026-11-28T09:00:00Z", "body": {"readings": readings}}).encode()


def test_record_and_model_have_the_same_fields() -> None:
    assert set(typing.get_type_hints(ReadingRecord)) == set(Reading.model_fields)


def _verdicts(payload: bytes) -> tuple[ReadingMessage | None, ReadingRecords | None]:
    try:
        model = ReadingMessage.model_validate_json(payload)
    except ValidationError:
        model = None
    try:
        records = ReadingRecords.model_validate_json(payload)
    except ValidationError:
        records = None
    return model, records


@pytest.mark.parametrize(("key", "value"), [(k, v) for k, values in _HOSTILE.items() for v in values]
                         + [(k, _MISSING) for k in _REQUIRED])
def test_each_hostile_value_gets_the_same_verdict(key: str, value: Any) -> None:
    reading = {k: v for k, v in {**_VALID_READING, key: value}.items() if v is not _MISSING}
    model, records = _verdicts(_envelope([reading]))
    assert (model is None) == (records is None), (key, value, model, records)


@settings(max_examples=400, deadline=None)
@given(raw_readings())
def test_records_accept_and_refuse_what_the_model_does(readings: list[dict[str, Any]]) -> None:
    payload = _envelope(readings)
    model, records = _verdicts(payload)
    assert (model is None) == (records is None), (readings, model, records)
    if model is not None and records is not None:
        converted = Incoming(_TOPIC, model)  # the in-process path: model -> records
        from_model = BatchWriter._reading_rows(converted)
        from_records = BatchWriter._reading_rows(Incoming(_TOPIC, records))
        assert from_model == from_records


def test_an_in_process_model_message_is_stored_like_the_wire_one() -> None:
    message = ReadingMessage.model_validate_json(_envelope([{"device": "xrf-1", "device_seq": 3,
                                                             "ts": "2026-11-28T09:00:00+09:00", "kind": "xrf"}]))
    incoming = Incoming(_TOPIC, message)
    assert isinstance(incoming.message, ReadingRecords)
    (row,) = BatchWriter._reading_rows(incoming)
    assert row[5:] == ("xrf-1", 3, "2026-11-28T00:00:00+00:00", "xrf", None, None, None, None, "{}")
