"""Moves messages from the outbox to the broker and retires them on the gateway's ack.

Go-back-N: up to ``window`` messages are in flight; if the oldest has no ack after ``ack_timeout_s``
(broker restarted, gateway down, a QoS1 queue overflowed) everything unacked is sent again — the
gateway deduplicates on (agent, msg_id). On every (re)connect the retained ``status`` is published
(birth), with a Will carrying the same session id so a late Will cannot mark a newer session offline.
This module never imports a device driver: it only sees bytes from the outbox.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from pydantic import ValidationError

from edge_agent.publishing.outbox import SqliteOutbox
from junkan.core.messages import AckMessage, CommandMessage, StatusMessage, dump
from junkan.core.mqtt import MqttConfig, make_client, session_properties
from junkan.core.topics import AgentTopics, Kind

log = logging.getLogger("junkan.agent.publisher")


class MqttPublisher:
    def __init__(
        self,
        cfg: MqttConfig,
        topics: AgentTopics,
        outbox: SqliteOutbox,
        status: Callable[[str], StatusMessage],
        on_command: Callable[[CommandMessage], None],
        window: int = 500,
        ack_timeout_s: float = 10.0,
        status_interval_s: float = 5.0,
    ) -> None:
        self.cfg, self.topics, self.outbox = cfg, topics, outbox
        self.status, self.on_command = status, on_command
        self.window, self.ack_timeout_s, self.status_interval_s = window, ack_timeout_s, status_interval_s
        self.stats = {"published": 0, "acked": 0, "rejected": 0, "resend_rounds": 0, "bad_control": 0,
                      "resend_requests": 0}
        self._acks: queue.Queue[AckMessage] = queue.Queue()
        self._resend_from: int | None = None
        self._last_ack = 0.0  # monotonic time the last ack item arrived (pump thread only)
        self._wake = threading.Event()
        self._connected = threading.Event()
        self._reconnected = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.client = make_client(cfg, client_id=f"junkan-agent-{topics.agent}")
        offline = self.status("offline")
        self.client.will_set(topics.topic(Kind.STATUS), dump(offline), qos=1, retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        self.client.connect_async(
            self.cfg.host, self.cfg.port, keepalive=self.cfg.keepalive_s, clean_start=False,
            properties=session_properties(self.cfg.session_expiry_s),
        )
        self.client.loop_start()
        self._thread = threading.Thread(target=self._pump, name="outbox-pump", daemon=True)
        self._thread.start()

    def stop(self, drain_s: float = 0.0) -> None:
        """Stop sending; optionally wait up to ``drain_s`` for the outbox to empty first."""
        deadline = time.monotonic() + drain_s
        while drain_s and time.monotonic() < deadline and self.outbox.depth()[0] > 0:
            time.sleep(0.05)
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=5)
        if self._connected.is_set():
            info = self.client.publish(self.topics.topic(Kind.STATUS), dump(self.status("offline")), 1, True)
            info.wait_for_publish(timeout=2)
        self.client.disconnect()
        self.client.loop_stop()

    def wake(self) -> None:
        """New messages are in the outbox."""
        self._wake.set()

    # -- paho callbacks (network thread: keep them short, never raise) --------------------------
    def _on_connect(self, client: mqtt.Client, _ud: Any, _flags: Any, reason: Any, _props: Any) -> None:
        if reason.is_failure:
            log.warning("broker refused connection: %s", reason)
            return
        client.subscribe([(self.topics.topic(Kind.ACK), 1), (self.topics.topic(Kind.CMD), 1)])
        client.publish(self.topics.topic(Kind.STATUS), dump(self.status("online")), qos=1, retain=True)
        self._reconnected.set()
        self._connected.set()
        self._wake.set()
        log.info("connected to %s:%s", self.cfg.host, self.cfg.port)

    def _on_disconnect(self, _c: mqtt.Client, _ud: Any, _flags: Any, reason: Any, _props: Any) -> None:
        self._connected.clear()
        if not self._stop.is_set():
            log.warning("disconnected from broker (%s); messages stay in the outbox", reason)

    def _on_message(self, _c: mqtt.Client, _ud: Any, message: mqtt.MQTTMessage) -> None:
        try:
            if message.topic.endswith("/" + Kind.ACK.value):
                self._acks.put(AckMessage.model_validate_json(message.payload))
                self._wake.set()
            else:
                self.on_command(CommandMessage.model_validate_json(message.payload))
        except (ValidationError, ValueError) as exc:
            self.stats["bad_control"] += 1
            log.warning("ignored invalid control message on %s: %s", message.topic, exc)

    # -- the pump (own thread; the only reader of the outbox send order) ------------------------
    def _pump(self) -> None:
        cursor, inflight = 0, dict[str, float]()  # msg_id -> monotonic time sent
        last_status = time.monotonic()
        while not self._stop.is_set():
            try:
                cursor = self._pump_once(cursor, inflight)
                if time.monotonic() - last_status > self.status_interval_s and self._connected.is_set():
                    self.client.publish(self.topics.topic(Kind.STATUS), dump(self.status("online")), 1, True)
                    last_status = time.monotonic()
            except Exception:  # the pump must survive anything (disk hiccup, paho error) and retry
                log.exception("outbox pump error; retrying")
                time.sleep(0.5)

    def _pump_once(self, cursor: int, inflight: dict[str, float]) -> int:
        self._retire_acked(inflight)
        self.outbox.purge_if_due()
        if self._resend_from is not None:
            self.stats["resend_requests"] += 1
            cursor, self._resend_from = min(cursor, self._resend_from - 1), None
            inflight.clear()
        if self._reconnected.is_set():
            self._reconnected.clear()
            cursor = 0
            inflight.clear()
        if not self._connected.is_set():
            self._wake.wait(0.2)
            self._wake.clear()
            return cursor
        now = time.monotonic()
        if inflight and self._ack_overdue(now, min(inflight.values())):
            self.stats["resend_rounds"] += 1
            log.info("no ack for %d messages after %.1f s: sending again", len(inflight), self.ack_timeout_s)
            cursor = 0
            inflight.clear()
        room = self.window - len(inflight)
        batch = self.outbox.after(cursor, room) if room > 0 else []
        for msg in batch:
            info = self.client.publish(msg.topic, msg.payload, qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                break  # disconnected meanwhile; resent after reconnect
            inflight[msg.msg_id] = now
            cursor = msg.seq
            self.stats["published"] += 1
        if not batch:
            self._wake.wait(0.05)
            self._wake.clear()
        return cursor

    def _ack_overdue(self, now: float, oldest_sent: float) -> bool:
        """Go back N when the oldest unacked message has waited ``ack_timeout_s`` — unless acks are still
        arriving (a deep window behind a busy gateway): then only after 3x that. Resending a backlog the
        gateway is still working through doubles its work and can keep it behind for good (measured: a
        1000-message window of 50 readings took > 10 s to ack at 4k readings/s)."""
        waited = now - oldest_sent
        if waited <= self.ack_timeout_s:
            return False
        acks_flowing = now - self._last_ack < self.ack_timeout_s
        return not acks_flowing or waited > 3 * self.ack_timeout_s

    def _retire_acked(self, inflight: dict[str, float]) -> None:
        done: list[str] = []
        while True:
            try:
                ack = self._acks.get_nowait()
            except queue.Empty:
                break
            if ack.resend_from_seq is not None:  # the gateway saw a gap: go back to it now
                self._resend_from = ack.resend_from_seq
            if ack.acks:
                self._last_ack = time.monotonic()
            for item in ack.acks:
                inflight.pop(item.msg_id, None)
                if item.result == "rejected":
                    self.outbox.reject(item.msg_id, item.reason or "rejected by gateway")
                    self.stats["rejected"] += 1
                    log.error("gateway rejected %s: %s (kept in the local rejected table)", item.msg_id, item.reason)
                else:
                    done.append(item.msg_id)
        if done:
            self.stats["acked"] += self.outbox.delete(done)
