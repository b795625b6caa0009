"""Hostile payloads at the gateway boundary: nothing raises, everything bad is dead-lettered with a reason."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.ingest.validate import validate
from gateway.store.base import DeadLetter, Incoming
from junkan.core.messages import StatusMessage
from junkan.core.topics import AgentTopics, Kind
from tests.security.fuzz_corpus import MAX_BYTES, OWN_LOT, Case, stream
from tests.wire import dump, reading_message, weighings

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
    raw = bytearray(dump(reading_message(1, weighings([0, 1, 2]))))
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] ^= 1 << data.draw(st.integers(0, 7))
    cut = data.draw(st.integers(1, len(raw)))
    result = validate(TOPICS.topic(Kind.READING), bytes(raw[:cut]), 100_000)
    assert isinstance(result, Incoming | DeadLetter)


def _publish_all(port: int, cases: list[Case]) -> None:
    pub = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    pub.max_inflight_messages_set(1000)
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    try:
        infos = []
        for case in cases:
            while (info := pub.publish(case.topic, case.payload, qos=1)).rc == mqtt.MQTT_ERR_QUEUE_SIZE:
                time.sleep(0.001)
            infos.append(info)
        for info in infos:
            info.wait_for_publish(timeout=60)
    finally:
        pub.disconnect()
        pub.loop_stop()


def run_fuzz(port: int, store: Any, n: int, workers: int) -> None:
    """``n`` fuzzed messages through a real broker into ``workers`` gateway consumers on one store:
    every valid one stored (0 lost), every invalid one dead-lettered with its class's reason, none stored."""
    from gateway.ingest.consumer import Consumer
    from gateway.settings import GatewaySettings

    cases = stream(n)
    valid = [c for c in cases if c.expected is None]
    invalid = [c for c in cases if c.expected is not None]
    consumers = [Consumer(GatewaySettings.model_validate({"mqtt": {"port": port}, "max_payload_bytes": MAX_BYTES,
                                                          "worker_id": f"fuzz-{w}"}), store)
                 for w in range(workers)]
    for consumer in consumers:
        consumer.start()
    try:
        assert all(c.connected.wait(10) for c in consumers)
        time.sleep(0.3)
        _publish_all(port, cases)
        deadline, counts = time.monotonic() + 60 + n / 100, store.counts()
        while ((counts["dead_letters"] < len(invalid) or counts["messages"] < len(valid))
               and time.monotonic() < deadline):
            time.sleep(0.5)
            counts = store.counts()
        time.sleep(1.0)  # anything more (a wrongly stored one) would show up now
        counts = store.counts()
        stored_ids = {r["msg_id"] for r in store.db.rows("SELECT msg_id FROM messages")}
        reasons = Counter(str(r["reason"]).split(":", 1)[0] for r in store.db.rows("SELECT reason FROM dead_letters"))
        by_worker = [c.metrics.registry.get_sample_value("junkan_gateway_messages_total", {"result": "stored"}) or 0
                     for c in consumers]
    finally:
        for consumer in consumers:
            consumer.stop()
    print(f"fuzz n={n} workers={workers}: {len(valid)} valid, {len(invalid)} invalid; stored per worker "
          f"{by_worker}; dead letters {dict(reasons)}")
    assert stored_ids == {c.msg_id for c in valid}, "a valid message was lost or an invalid one stored"
    assert counts["readings"] == len(valid) - 1  # one lot event, the rest one reading each
    assert reasons == Counter(c.expected for c in invalid)  # 100 % dead-lettered, each with its class's reason
    assert set(reasons) >= {"not_json", "schema", "too_deep", "too_large", "int_range", "non_finite",
                            "bad_topic", "identity_mismatch", "clock_window"}
    lot = store.get_lot(OWN_LOT)
    assert lot is not None and lot["agent"] == "agent-1" and lot["status"] == "open"  # the forgeries changed nothing
    assert {r["agent"] for r in store.lot_readings(OWN_LOT)} == {"agent-1"}
    if workers > 1:
        assert all(by_worker), f"a worker stored nothing: {by_worker}"
    assert threading.active_count() < 50


@pytest.mark.integration
@pytest.mark.parametrize("workers", [1, 2])
def test_fuzzed_stream_short(mosquitto, gateway_store, workers: int) -> None:  # type: ignore[no-untyped-def]
    run_fuzz(mosquitto.port, gateway_store, 1_200, workers)


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.parametrize("workers", [1, 2])
def test_ten_thousand_fuzzed_messages(mosquitto, gateway_store, workers: int) -> None:  # type: ignore[no-untyped-def]
    run_fuzz(mosquitto.port, gateway_store, 10_000, workers)
