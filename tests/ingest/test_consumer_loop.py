"""The consumer's one loop thread: acks wait for the commit, and other threads can still publish."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt

from gateway.ingest.consumer import Consumer
from gateway.settings import GatewaySettings
from gateway.store.base import DeadLetter, Incoming, Store
from junkan.core.messages import AckItem, ReadingMessage, StatusMessage, dump
from junkan.core.topics import Kind
from tests.wire import SESSION, TOPICS, reading_message, weighings


class FlakyStore:
    """The real store, whose first ``failures`` commits fail as a locked database does."""

    def __init__(self, store: Store, failures: int) -> None:
        self.store, self.failures, self.attempts = store, failures, 0

    def commit_batch(self, incoming: list[Incoming], dead: list[DeadLetter],
                     statuses: list[StatusMessage], options: Any = None) -> list[AckItem]:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise sqlite3.OperationalError("database is locked")
        return self.store.commit_batch(incoming, dead, statuses, *([options] if options else []))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def _client(port: int, name: str, topic: str) -> tuple[mqtt.Client, list[bytes]]:
    """A connected client subscribed to ``topic``, and the payloads it receives."""
    got: list[bytes] = []
    client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id=name,
                         protocol=mqtt.MQTTv5)
    subscribed = threading.Event()
    client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
    client.on_subscribe = lambda *_: subscribed.set()
    client.on_message = lambda _c, _u, m: got.append(bytes(m.payload))
    client.connect("127.0.0.1", port)
    client.loop_start()
    assert subscribed.wait(10)
    return client, got


def _consumer(port: int, store: Any) -> Consumer:
    return Consumer(GatewaySettings.model_validate({"mqtt": {"port": port}}), store)


@contextmanager
def _running(consumer: Consumer, port: int, agent_topic: str) -> Iterator[tuple[mqtt.Client, list[bytes]]]:
    """An agent-1 client subscribed to ``agent_topic`` and the consumer connected; both stopped after."""
    agent, got = _client(port, "agent-1", agent_topic)
    consumer.start()
    try:
        assert consumer.connected.wait(10)
        yield agent, got
    finally:
        consumer.stop()
        agent.disconnect()
        agent.loop_stop()


def _publish_readings(agent: mqtt.Client, n: int) -> list[ReadingMessage]:
    messages = [reading_message(seq, weighings([seq])) for seq in range(1, n + 1)]
    for m in messages:
        agent.publish(TOPICS.topic(Kind.READING), dump(m), qos=1)
    return messages


def _wait(condition: Any, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return bool(condition())


def test_acks_wait_for_the_commit_through_a_database_outage(mosquitto, gateway_store) -> None:  # type: ignore[no-untyped-def]
    store = FlakyStore(gateway_store, failures=2)  # two failed commits: ~2 s of "database is locked"
    with _running(_consumer(mosquitto.port, store), mosquitto.port, TOPICS.topic(Kind.ACK)) as (agent, acks):
        messages = _publish_readings(agent, 20)
        assert _wait(lambda: store.attempts >= 1)
        time.sleep(0.5)
        assert acks == [], "acknowledged before anything was committed"
        assert gateway_store.counts()["messages"] == 0
        assert _wait(lambda: sum(len(json.loads(a)["acks"]) for a in acks) >= 20)
    results = [item for a in acks for item in json.loads(a)["acks"]]
    assert sorted(i["msg_id"] for i in results) == sorted(m.msg_id for m in messages)
    assert {i["result"] for i in results} == {"stored"}
    assert store.attempts >= 3
    assert gateway_store.counts()["messages"] == 20 and gateway_store.counts()["readings"] == 20


def test_a_command_from_another_thread_reaches_the_agent(mosquitto, gateway_store) -> None:  # type: ignore[no-untyped-def]
    """The API thread only queues the publish; the loop thread, asleep in select(), is woken to send it."""
    gateway_store.commit_batch([], [], [StatusMessage(agent="agent-1", site="site-a", line="line-1",
                                                      session=SESSION, state="online", at=datetime.now(UTC))])
    consumer = _consumer(mosquitto.port, gateway_store)
    with _running(consumer, mosquitto.port, TOPICS.topic(Kind.CMD)) as (_agent, commands):
        time.sleep(0.5)  # the loop is idle in select()
        started = time.monotonic()
        sent: dict[str, Any] = {}
        api = threading.Thread(target=lambda: sent.update(consumer.send_command("line-1", "open_lot", "LOT-9", "op")))
        api.start()
        api.join(5)
        assert _wait(lambda: bool(commands), timeout=5)
        took = time.monotonic() - started
    command = json.loads(commands[0])
    assert command["cmd_id"] == sent["cmd_id"] and command["action"] == "open_lot" and command["lot_id"] == "LOT-9"
    assert took < 1.0, f"the command waited {took:.2f} s for the loop to wake up"


def test_a_failure_after_the_commit_reconnects_and_loses_nothing(mosquitto, gateway_store) -> None:  # type: ignore[no-untyped-def]
    """Committed but not acked (a bug in the ack path): the consumer reconnects, the broker redelivers,
    the (agent, msg_id) key makes the second delivery a duplicate, and every message gets its ack."""
    consumer = _consumer(mosquitto.port, gateway_store)
    real_send_acks, failed = consumer._send_acks, list[str]()

    def send_acks_once_broken(*args: Any) -> None:
        if not failed:
            failed.extend(item.message.msg_id for item in args[0])  # the batch that was committed
            raise RuntimeError("injected bug in the ack path")
        real_send_acks(*args)

    consumer._send_acks = send_acks_once_broken  # type: ignore[method-assign,assignment]
    with _running(consumer, mosquitto.port, TOPICS.topic(Kind.ACK)) as (agent, acks):
        ids = {m.msg_id for m in _publish_readings(agent, 10)}
        # reconnect + redelivery take a while on a loaded machine
        assert _wait(lambda: ids <= {i["msg_id"] for a in acks for i in json.loads(a)["acks"]}, timeout=60.0)
    assert failed, "the fault was not injected"
    results = {i["msg_id"]: i["result"] for a in acks for i in json.loads(a)["acks"]}
    assert all(results[msg_id] == "duplicate" for msg_id in failed), "the failed batch was not redelivered"
    assert gateway_store.counts()["messages"] == 10 and gateway_store.counts()["readings"] == 10
