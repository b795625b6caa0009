"""Sequence-gap detection: a message lost after PUBACK is asked for again long before the ack timeout."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from edge_agent.publishing.mqtt_publisher import MqttPublisher
from edge_agent.publishing.outbox import OutgoingMessage, SqliteOutbox
from gateway.ingest.consumer import Consumer
from gateway.ingest.gaps import GapTracker, advance
from gateway.settings import GatewaySettings
from junkan.core.messages import StatusMessage, dump
from junkan.core.mqtt import MqttConfig
from junkan.core.topics import AgentTopics, Kind
from tests.wire import SESSION, reading_message, weighings


def test_advance_and_tracker() -> None:
    assert advance(0, [1, 2, 3]) == (3, None)
    assert advance(0, [1, 2, 4, 5]) == (2, 3)
    tracker = GapTracker(request_after_s=1.0, give_up_after=2)
    assert tracker.update("a", "s", [5, 6, 8], now=0.0) is None  # first sight: gap noticed, not yet asked
    assert tracker.update("a", "s", [8], now=0.5) is None
    assert tracker.update("a", "s", [8], now=1.1) == 7  # still missing after 1 s: ask
    assert tracker.update("a", "s", [8], now=1.5) is None  # back off between requests
    assert tracker.update("a", "s", [8], now=2.2) == 7
    assert tracker.update("a", "s", [8], now=3.5) is None  # given up: reported, not asked forever
    assert tracker.abandoned == [("a", "s", 7)]
    assert tracker.update("a", "s", [8, 9], now=4.0) is None and tracker.watermark("a", "s") == 9


def test_lost_message_is_resent_on_gap_request(mosquitto, gateway_store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    topics = AgentTopics("site-a", "line-1", "agent-1")
    outbox = SqliteOutbox(tmp_path / "o.db")
    messages = [reading_message(seq, weighings([seq])) for seq in range(1, 7)]
    outbox.enqueue([OutgoingMessage(m.seq, m.msg_id, "reading", topics.topic(Kind.READING), dump(m)) for m in messages])

    def status(state: str) -> StatusMessage:
        return StatusMessage(agent="agent-1", site="site-a", line="line-1", session=SESSION,
                             state="online" if state == "online" else "offline", at=datetime.now(UTC))

    store = gateway_store
    consumer = Consumer(GatewaySettings.model_validate({"mqtt": {"port": mosquitto.port}}), store)
    consumer.gaps.request_after_s = 0.5
    publisher = MqttPublisher(MqttConfig(port=mosquitto.port), topics, outbox, status, lambda c: None,
                              ack_timeout_s=600)  # the ordinary resend would come only after 10 minutes
    real_publish, dropped = publisher.client.publish, []

    def lossy_publish(topic, payload=None, qos=0, retain=False, properties=None):  # type: ignore[no-untyped-def]
        if payload and messages[2].msg_id.encode() in payload and not dropped:
            dropped.append(True)  # "PUBACKed, then lost in a broker crash"
            return real_publish(topics.topic(Kind.STATUS).replace("status", "void"), b"x", qos)
        return real_publish(topic, payload, qos, retain, properties)

    publisher.client.publish = lossy_publish  # type: ignore[method-assign]
    consumer.start()
    assert consumer.connected.wait(10)
    publisher.start()
    try:
        deadline = time.monotonic() + 30
        while store.counts()["messages"] < 6 and time.monotonic() < deadline:
            time.sleep(0.1)
        stored = store.session_seqs_above("agent-1", SESSION, 0)
    finally:
        publisher.stop()
        consumer.stop()
    assert dropped, "the fault was not injected"
    assert stored == [1, 2, 3, 4, 5, 6]
    assert publisher.stats["resend_requests"] >= 1
