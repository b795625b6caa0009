"""What the MQTT-speaking device drivers share (Sparkplug B edge nodes, ESPHome nodes).

A device that publishes to a plant broker is read by subscribing, not by polling. The I/O half
(``MqttSourceRunner``) holds one paho client per device, reconnects with backoff and hands every message
to the driver's pure ``MessageSource`` (topic + payload bytes in, readings/bad frames out, never raises).
The source may ask for messages to be published (a Sparkplug rebirth request) and says whether the
device itself is online (its MQTT will/death), which the status shows as ``error`` with the reason.

Offline form (``junkan agent capture`` / ``decode`` / golden cases): JSON lines, one per received message,
``{"t": <unix s>, "topic": "...", "payload_b64": "..."}`` (or ``"payload": "<text>"`` for text payloads).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from pathlib import Path
from typing import Any, Protocol

from pydantic import Field, model_validator

from edge_agent.clock import wall_now, wall_time
from edge_agent.drivers.base import (
    Backoff,
    BadFrame,
    Decoded,
    DeviceConfigBase,
    DeviceCounters,
    DeviceReading,
    Emit,
    keep_connected,
    log,
)
from edge_agent.drivers.lines import JsonLines
from junkan.core.mqtt import BrokerLogin

MAX_CAPTURE_LINE = 1 << 20


class BrokerConfig(BrokerLogin):
    """The broker the devices publish to (often the site broker the agent also uses)."""

    ca_file: str | None = Field(default=None, description="CA certificate (PEM) to connect with TLS; omit for plain.")
    client_id: str | None = Field(default=None, description="MQTT client id; default junkan-<device name>.")
    keepalive_s: int = Field(default=15, ge=5, le=600, description="MQTT keepalive (s).")


class MqttDeviceConfig(DeviceConfigBase):
    """A device read from a broker (Sparkplug B, ESPHome). It reports by exception: a settled weight is
    published once and an idle line is silent, hence one stable frame and a long stale time. At most one of
    its mapped values is a weight (one weighing detector per device)."""

    division_kg: float = Field(default=0.02, gt=0, description="Scale division d (kg), for stability checks.")
    stable_frames: int = Field(default=1, ge=1, le=50, description="Consecutive stable readings within ±1 d; "
                               "1 because the device reports by exception (a settled value is sent once).")
    stale_after_s: float = Field(default=600.0, gt=0, description="No message this long: stale (report by "
                                 "exception: an idle line is silent).")

    def value_maps(self) -> tuple[str, list[Any]]:
        """What this device type calls a mapped value ("entity", "metric"), and its maps (each with a kind)."""
        raise NotImplementedError

    @model_validator(mode="after")
    def _one_weight(self) -> MqttDeviceConfig:
        word, maps = self.value_maps()
        if sum(m.kind == "weight" for m in maps) > 1:
            raise ValueError(f"at most one weight {word} per device (one weighing detector per device)")
        return self


class MessageSource(Protocol):
    """The pure half: what to subscribe to, and what each message means."""

    online: bool | None  # None: not known yet (no birth / availability seen)
    offline_reason: str | None

    def subscriptions(self) -> list[str]: ...

    def connected(self, t: float) -> None: ...  # our own (re)connect: state may have moved meanwhile

    def message(self, topic: str, payload: bytes, t: float) -> list[Decoded]: ...

    def take_commands(self) -> list[tuple[str, bytes]]: ...  # (topic, payload) to publish


def capture_line(t: float, topic: str, payload: bytes) -> str:
    return json.dumps({"t": round(t, 3), "topic": topic, "payload_b64": base64.b64encode(payload).decode()})


class CaptureDecoder:
    """Replays a capture (JSON lines of messages) through a ``MessageSource``: the offline decoder."""

    def __init__(self, source: MessageSource) -> None:
        self.source = source
        self._lines = JsonLines(self._line, "capture", MAX_CAPTURE_LINE)

    def feed(self, chunk: bytes) -> list[Decoded]:
        return self._lines.feed(chunk)

    def _line(self, raw: bytes) -> list[Decoded]:
        try:
            rec = json.loads(raw)
            t, topic = float(rec.get("t", 0.0)), str(rec["topic"])
            payload = base64.b64decode(rec["payload_b64"], validate=True) if "payload_b64" in rec \
                else str(rec["payload"]).encode()
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return [BadFrame(f"not a message capture line: {exc!r}", raw[:256])]
        return safe_message(self.source, topic, payload, t)


def safe_message(source: MessageSource, topic: str, payload: bytes, t: float) -> list[Decoded]:
    try:
        return source.message(topic, payload, t)
    except Exception as exc:  # a decoder bug is a bad frame, never an escaped exception
        return [BadFrame(f"decoder error: {exc!r}", payload[:256])]


class MqttSourceRunner:
    """Subscribes for one device; reconnects with backoff; publishes what the source asks for."""

    def __init__(self, name: str, broker: BrokerConfig, source: MessageSource, capture_path: Path | None = None,
                 command_qos: int = 0) -> None:
        self.name, self.broker, self.source, self.capture_path = name, broker, source, capture_path
        self.command_qos = command_qos
        self.counters = DeviceCounters()
        self._broker_up = False

    def send(self, command: bytes) -> None:
        """Commands go through the source (e.g. a rebirth request), not raw bytes."""

    def run(self, emit: Emit, stop: threading.Event) -> None:
        capture = self.capture_path.open("a", encoding="utf-8") if self.capture_path else None
        keep_connected(stop, self.counters, lambda backoff: self._session(emit, stop, capture, backoff),
                       (OSError,), lambda exc: f"mqtt {self.broker.host}:{self.broker.port}: {exc}",
                       f"{self.name}: mqtt loop", self.name, capture)

    def _client(self) -> Any:
        import paho.mqtt.client as mqtt

        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.broker.client_id or f"junkan-{self.name}",
                             protocol=mqtt.MQTTv311, clean_session=True)  # Sparkplug: clean sessions only
        if self.broker.username:
            client.username_pw_set(self.broker.username, self.broker.password())
        if self.broker.ca_file:
            client.tls_set(ca_certs=self.broker.ca_file)
        return client

    def _session(self, emit: Emit, stop: threading.Event, capture: Any, backoff: Backoff) -> bool:
        """One broker connection, subscribed until it is lost or ``stop``."""
        client = self._client()
        state: dict[str, Any] = {"rc": None}
        client.on_connect = lambda c, u, flags, rc, props=None: state.update(rc=rc)
        client.on_message = lambda c, u, msg: self._on_message(msg.topic, bytes(msg.payload), emit, capture)
        client.connect(self.broker.host, self.broker.port, self.broker.keepalive_s)
        try:
            deadline = time.monotonic() + 10
            while state["rc"] is None and not stop.is_set():
                if client.loop(0.1) != 0 or time.monotonic() > deadline:
                    raise ConnectionError("no CONNACK")
            if stop.is_set():
                return True
            if getattr(state["rc"], "is_failure", False):
                raise ConnectionError(f"broker refused: {state['rc']}")
            for topic in self.source.subscriptions():
                client.subscribe(topic, qos=0)
            self._broker_up = True
            self.source.connected(wall_time())
            backoff.reset()
            while not stop.is_set():
                for topic, payload in self.source.take_commands():
                    client.publish(topic, payload, qos=self.command_qos)
                self._update_state()
                rc = client.loop(0.1)
                if rc != 0:
                    raise ConnectionError(f"connection lost (paho rc {rc})")
            return True
        finally:
            try:
                client.disconnect()
            except Exception:
                pass
            self._broker_up = False
            self._update_state()

    def _on_message(self, topic: str, payload: bytes, emit: Emit, capture: Any) -> None:
        t = wall_time()
        if capture:
            capture.write(capture_line(t, topic, payload) + "\n")
            capture.flush()
        for item in safe_message(self.source, topic, payload, t):
            if isinstance(item, BadFrame):
                self.counters.frames_bad += 1
                self.counters.last_error = item.reason
                log.warning("%s: %s", self.name, item.reason)
                continue
            if item.kind != "info":
                self.counters.frames_ok += 1
                self.counters.last_reading_at = wall_now()
            emit(item)
        self._update_state()

    def _update_state(self) -> None:
        """Connected = our broker session is up and the device is not known to be offline."""
        c, src = self.counters, self.source
        if not self._broker_up:
            c.connected = False
            c.last_error = c.last_error or "not connected to the broker"
        elif src.online is False:
            c.connected = False
            c.last_error = f"device offline: {src.offline_reason}"
        else:
            c.connected = True


def event(name: str, status: str, **data: Any) -> DeviceReading:
    """A source event (offline, back online, sequence gap) as a reading the lot keeps."""
    return DeviceReading(kind="source_event", status=status, data={"event": name, **data})  # type: ignore[arg-type]
