"""Hostile payloads at the gateway boundary: nothing raises, everything bad is dead-lettered with a reason."""

from __future__ import annotations

import json
import random
import threading
import time

import paho.mqtt.client as mqtt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.ingest.validate import validate
from gateway.store.base import DeadLetter, Incoming
from junkan.core.messages import StatusMessage
from junkan.core.topics import AgentTopics, Kind
from tests.foundation.factories import dump, reading_message

TOPICS = AgentTopics("site-a", "line-1", "agent-1")


@settings(max_examples=400, deadline=None)
@given(topic=st.one_of(st.text(max_size=80), st.sampled_from([TOPICS.topic(k) for k in Kind])),
       payload=st.one_of(st.binary(max_size=2000), st.recursive(
           st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=30),
           lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
           max_leaves=40).map(lambda v: json.dumps(v).encode())))
def test_validate_is_total(topic: str, payload: bytes) -> None:
    result = validate(topic, payload, 100_000)
    assert isinstance(result, Incoming | StatusMessage | DeadLetter)
    if isinstance(result, DeadLetter):
        assert result.reason


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_mutated_valid_messages_never_escape(data: st.DataObject) -> None:
    """Bit flips and truncations of a real message: valid or dead-lettered, never an exception."""
    raw = bytearray(dump(reading_message(1, [0, 1, 2])))
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] ^= 1 << data.draw(st.integers(0, 7))
    cut = data.draw(st.integers(1, len(raw)))
    result = validate(TOPICS.topic(Kind.READING), bytes(raw[:cut]), 100_000)
    assert isinstance(result, Incoming | DeadLetter)


def malformed_payloads(n: int, seed: int = 7) -> list[tuple[str, bytes]]:
    """n hostile payloads of every family, each on a topic the gateway subscribes to."""
    rng = random.Random(seed)
    good = json.loads(dump(reading_message(1, [0])))
    reading, lot, status = (TOPICS.topic(k) for k in (Kind.READING, Kind.LOT, Kind.STATUS))
    out: list[tuple[str, bytes]] = []
    for i in range(n):
        family = i % 8
        if family == 0:  # not JSON at all
            out.append((reading, bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))))
        elif family == 1:  # JSON of the wrong shape
            out.append((lot, json.dumps(rng.choice([[1, 2], "text", 42, None, {"schema": "junkan.lot/1"}])).encode()))
        elif family == 2:  # wrong types inside a valid envelope
            bad = json.loads(json.dumps(good))
            invalid = {"value": ["heavy", [], {"x": 1}, "NaN"], "device_seq": [-1, "x", 1.5, None],
                       "ts": ["9999-99-99", [], "yesterday"], "kind": ["Heavy Metal!", 42, "", None]}
            field = rng.choice(sorted(invalid))
            bad["body"]["readings"][0][field] = rng.choice(invalid[field])
            bad["msg_id"] = f"{i:026d}"
            out.append((reading, json.dumps(bad).encode()))
        elif family == 3:  # huge
            out.append((reading, b'{"pad":"' + b"x" * 70_000 + b'"}'))
        elif family == 4:  # deep
            depth = rng.randrange(40, 400)
            out.append((reading, b"[" * depth + b"]" * depth))
        elif family == 5:  # unicode junk, lone surrogates, NULs
            text = "".join(chr(rng.choice([0, 0xD800, 0xFFFF, 0x1F600, 0x202E, rng.randrange(0x20, 0x3000)]))
                           for _ in range(50))
            out.append((status, text.encode("utf-8", "surrogatepass")))
        elif family == 6:  # wrong topic for the schema / another agent's name
            bad = json.loads(json.dumps(good))
            bad["agent"] = "agent-666"
            out.append((reading, json.dumps(bad).encode()))
        else:  # right topic, wrong schema version
            bad = json.loads(json.dumps(good))
            bad["schema"] = "junkan.reading/9"
            out.append((reading, json.dumps(bad).encode()))
    return out


@pytest.mark.integration
def test_ten_thousand_malformed_payloads_are_all_dead_lettered(mosquitto, gateway_store) -> None:  # type: ignore[no-untyped-def]
    from gateway.ingest.consumer import Consumer
    from gateway.settings import GatewaySettings

    n = 10_000
    settings_ = GatewaySettings.model_validate({"mqtt": {"port": mosquitto.port}, "max_payload_bytes": 65_536})
    store = gateway_store
    consumer = Consumer(settings_, store)
    consumer.start()
    pub = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    pub.max_inflight_messages_set(1000)
    pub.connect("127.0.0.1", mosquitto.port)
    pub.loop_start()
    try:
        assert consumer.connected.wait(10)
        time.sleep(0.3)
        infos = [pub.publish(topic, payload, qos=1) for topic, payload in malformed_payloads(n)]
        for info in infos:
            info.wait_for_publish(timeout=30)
        deadline, progress = time.monotonic() + 120, []
        while store.counts()["dead_letters"] < n and time.monotonic() < deadline:
            time.sleep(1)
            progress.append(store.counts()["dead_letters"])
        print("dead letters over time:", progress[-3:])
        valid = reading_message(5, [0, 1])
        pub.publish(TOPICS.topic(Kind.READING), dump(valid), qos=1).wait_for_publish(timeout=10)
        deadline = time.monotonic() + 20
        while store.counts()["readings"] < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        counts = store.counts()
        reasons = [r["reason"] for r in store.db.rows("SELECT reason FROM dead_letters")]
    finally:
        pub.loop_stop()
        consumer.stop()
    assert counts["dead_letters"] == n
    assert counts["readings"] == 2 and counts["messages"] == 1  # the gateway is still up and storing
    assert all(reasons)
    families = {r.split(":")[0] for r in reasons}
    assert {"not JSON", "schema", "payload too large", "JSON nested deeper than 32"} <= families, families
    assert any("does not match topic agent" in r for r in reasons)
    assert threading.active_count() < 50
