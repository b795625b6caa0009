"""Shared pieces of the benchmarks: result records, a QoS1 backlog publisher, a bare paho subscriber."""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from junkan.core.mqtt import session_properties


@dataclass
class Figure:
    """One measured figure beside its baseline, measured in the same run."""

    value: float
    baseline: float | None
    unit: str
    what: str
    baseline_what: str
    better: str = "higher"  # or "lower"
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        ratio = (self.value / self.baseline) if self.baseline else None
        return {"value": round(self.value, 4), "baseline": None if self.baseline is None else round(self.baseline, 4),
                "ratio": None if ratio is None else round(ratio, 4), "unit": self.unit, "what": self.what,
                "baseline_what": self.baseline_what, "better": self.better, "note": self.note}


def percentile(values: list[float], q: float) -> float:
    """q in 0..100, nearest-rank on the sorted values."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def median(values: list[float]) -> float:
    return statistics.median(values)


def client(client_id: str, manual_ack: bool = False) -> mqtt.Client:
    c = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                    protocol=mqtt.MQTTv5, manual_ack=manual_ack)
    c.max_inflight_messages_set(1000)
    return c


def publish_backlog(port: int, messages: list[tuple[str, bytes]], timeout: float = 300.0) -> float:
    """Publish QoS1 and wait for every PUBACK; returns seconds taken."""
    pub = client("bench-publisher")
    done = threading.Event()
    acked = [0]

    def on_publish(*_a: Any) -> None:
        acked[0] += 1
        if acked[0] == len(messages):
            done.set()

    pub.on_publish = on_publish
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    started = time.perf_counter()
    for topic, payload in messages:
        while pub.publish(topic, payload, qos=1).rc == mqtt.MQTT_ERR_QUEUE_SIZE:
            time.sleep(0.001)
    if not done.wait(timeout):
        raise TimeoutError(f"only {acked[0]}/{len(messages)} PUBACKs after {timeout} s")
    took = time.perf_counter() - started
    pub.disconnect()
    pub.loop_stop()
    return took


class RawSubscriber:
    """The baseline consumer: a paho loop that receives QoS1 messages and does nothing with them."""

    def __init__(self, port: int, subscription: str, client_id: str = "bench-raw") -> None:
        self.port, self.subscription = port, subscription
        self.count, self.target = 0, 0
        self.done, self.subscribed = threading.Event(), threading.Event()
        self.client = client(client_id)
        self.client.on_connect = lambda c, *_: c.subscribe(self.subscription, qos=1)
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_message = self._on_message

    def _on_message(self, *_a: Any) -> None:
        self.count += 1
        if self.count >= self.target:
            self.done.set()

    def connect(self) -> None:
        self.client.connect("127.0.0.1", self.port, clean_start=False, properties=session_properties(600))
        self.client.loop_start()

    def register(self) -> None:
        """Create the persistent session and subscription, then go offline so a backlog queues up."""
        self.connect()
        if not self.subscribed.wait(10):
            raise TimeoutError("raw subscriber: no SUBACK")
        self.disconnect()

    def disconnect(self, end_session: bool = False) -> None:
        """Go offline; with ``end_session`` the broker drops the session. A kept session would go on
        collecting copies of every later backlog on the same topics (and the next figure would pay)."""
        props = None
        if end_session:
            props = Properties(PacketTypes.DISCONNECT)
            props.SessionExpiryInterval = 0
        self.client.disconnect(properties=props)
        self.client.loop_stop()
