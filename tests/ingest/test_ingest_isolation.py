"""One message cannot stop ingest: a poison insert is bisected out, a message that keeps failing is
dead-lettered after max_redeliveries, and /readyz goes 503 while a held database lock stalls ingest."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.ingest.consumer import Consumer
from gateway.settings import GatewaySettings
from gateway.store.base import DeadLetter, Incoming, Store
from junkan.core.messages import AckItem, ReadingMessage, StatusMessage, dump
from junkan.core.topics import Kind
from tests.wire import TOPICS, reading_message, weighings

pytestmark = pytest.mark.integration


class PoisonStore:
    """The real store, whose inserts raise (as an out-of-range integer did) for one message id."""

    def __init__(self, store: Store, poison: str) -> None:
        self.store, self.poison, self.attempts = store, poison, 0

    def commit_batch(self, incoming: list[Incoming], dead: list[DeadLetter], statuses: list[StatusMessage],
                     options: Any = None) -> list[AckItem]:
        self.attempts += 1
        if any(i.message.msg_id == self.poison for i in incoming):
            raise OverflowError("Python int too large to convert to SQLite INTEGER")
        return self.store.commit_batch(incoming, dead, statuses, *([options] if options else []))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def _agent(port: int) -> tuple[mqtt.Client, list[dict[str, Any]]]:
    acks: list[dict[str, Any]] = []
    subscribed = threading.Event()
    client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id="agent-1",
                         protocol=mqtt.MQTTv5)
    client.on_connect = lambda c, *_: c.subscribe(TOPICS.topic(Kind.ACK), qos=1)
    client.on_subscribe = lambda *_: subscribed.set()
    client.on_message = lambda _c, _u, m: acks.extend(json.loads(m.payload)["acks"])
    client.connect("127.0.0.1", port)
    client.loop_start()
    assert subscribed.wait(10)
    return client, acks


@contextmanager
def _publishing(consumer: Consumer, port: int, messages: list[ReadingMessage]) -> Iterator[list[dict[str, Any]]]:
    """The consumer started and ``messages`` published by agent-1 (QoS 1); yields the acks as they arrive and
    stops both when the block ends."""
    agent, acks = _agent(port)
    consumer.start()
    try:
        assert consumer.connected.wait(10)
        time.sleep(0.3)  # SUBACK: connected is set on CONNACK
        for m in messages:
            agent.publish(TOPICS.topic(Kind.READING), dump(m), qos=1)
        yield acks
    finally:
        consumer.stop()
        agent.disconnect()
        agent.loop_stop()


def _wait(condition: Any, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return bool(condition())


def _settings(port: int, **ingest: Any) -> GatewaySettings:
    return GatewaySettings.model_validate({"mqtt": {"port": port}, "ingest": ingest})


def test_a_poison_insert_is_bisected_out_and_the_rest_stored(mosquitto, gateway_store) -> None:  # type: ignore[no-untyped-def]
    messages = [reading_message(seq, weighings([seq])) for seq in range(1, 41)]
    poison = messages[17]
    store = PoisonStore(gateway_store, poison.msg_id)
    consumer = Consumer(_settings(mosquitto.port), store)  # type: ignore[arg-type]
    with _publishing(consumer, mosquitto.port, messages) as acks:
        assert _wait(lambda: len({a["msg_id"] for a in acks}) == len(messages))
    results = {a["msg_id"]: a for a in acks}
    assert results[poison.msg_id]["result"] == "rejected"
    assert results[poison.msg_id]["reason"].startswith("store_error: OverflowError")
    assert {results[m.msg_id]["result"] for m in messages if m is not poison} == {"stored"}
    assert gateway_store.counts()["readings"] == len(messages) - 1
    (letter,) = gateway_store.dead_letters()
    assert letter["reason"].startswith("store_error:") and poison.msg_id in letter["payload"]
    sample = consumer.metrics.registry.get_sample_value
    assert sample("junkan_gateway_dead_letters_total", {"reason": "store_error"}) == 1


def test_a_message_that_keeps_failing_is_dead_lettered_after_max_redeliveries(mosquitto, gateway_store) -> None:  # type: ignore[no-untyped-def]
    """A failure after the commit and before the acks (a bug) makes the consumer reconnect and the broker
    redeliver. The messages are tried one by one after that; the one that fails again and again is
    dead-lettered after max_redeliveries, the others complete."""
    messages = [reading_message(seq, weighings([seq])) for seq in range(1, 11)]
    poison = messages[4]
    consumer = Consumer(_settings(mosquitto.port, max_redeliveries=3), gateway_store)
    real_commit, failures = consumer.committer.commit, [0]

    def commit_then_fail(items: list[Any]) -> Any:
        outcome = real_commit(items)
        if any(i.kind == "in" and i.value.message.msg_id == poison.msg_id for i in items):
            failures[0] += 1
            raise RuntimeError("injected bug for one message")
        return outcome

    consumer.committer.commit = commit_then_fail  # type: ignore[method-assign]
    with _publishing(consumer, mosquitto.port, messages) as acks:
        assert _wait(lambda: any(a["msg_id"] == poison.msg_id and a["result"] == "rejected" for a in acks), 60)
        assert _wait(lambda: {m.msg_id for m in messages} <= {a["msg_id"] for a in acks})
    assert failures[0] == 3
    reasons = [r["reason"] for r in gateway_store.dead_letters()]
    assert len(reasons) == 1 and reasons[0].startswith("redelivered: delivered 4 times"), reasons
    assert gateway_store.counts()["messages"] == 10  # stored once (the first try), later deliveries refused


def _hold_lock(db_url: str) -> Any:
    """Another connection holding the write lock: SQLite a write transaction, PostgreSQL a table lock."""
    if db_url.startswith("sqlite:///"):
        conn = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        return conn
    import psycopg

    pg = psycopg.connect(db_url)
    pg.execute("LOCK TABLE messages IN ACCESS EXCLUSIVE MODE")
    return pg


def test_readyz_503_while_a_held_lock_stalls_ingest_200_after(mosquitto, gateway_db_url, gateway_store) -> None:  # type: ignore[no-untyped-def]
    stall = 1.5
    settings = _settings(mosquitto.port, stall_after_s=stall)
    consumer = Consumer(settings, gateway_store)
    client = TestClient(create_app(settings, gateway_store, consumer, consumer.metrics))
    agent, acks = _agent(mosquitto.port)
    consumer.start()
    try:
        assert consumer.connected.wait(10)
        time.sleep(0.3)
        assert _wait(lambda: client.get("/readyz").status_code == 200, 5)
        lock = _hold_lock(gateway_db_url)
        try:
            held_at = time.monotonic()
            agent.publish(TOPICS.topic(Kind.READING), dump(reading_message(1, weighings([0]))), qos=1)
            assert _wait(lambda: client.get("/readyz").status_code == 503, stall + 5)
            took = time.monotonic() - held_at
            body = client.get("/readyz").json()
            assert body["ready"] is False and body["ingest"]["oldest_unacked_age_s"] > stall, body
            assert "waited" in " ".join(body["problems"])
            assert client.get("/healthz").status_code == 200  # alive, only not ready
            metrics = client.get("/metrics").text
            assert "junkan_gateway_ready 0.0" in metrics and "process_cpu_seconds_total" in metrics
        finally:
            lock.rollback() if hasattr(lock, "rollback") else None
            lock.close()
        assert _wait(lambda: client.get("/readyz").status_code == 200, 40)
        assert _wait(lambda: len(acks) == 1)
    finally:
        consumer.stop()
        agent.disconnect()
        agent.loop_stop()
    assert took <= stall + 3, f"503 only after {took:.1f} s"
    assert gateway_store.counts()["readings"] == 1
    assert client.get("/readyz").json()["ingest"]["last_commit_age_s"] is not None
