"""The MQTT side of the gateway: shared subscription in, commit, then acks out.

Order per batch: validate -> one database transaction -> publish application acks to the agents ->
PUBACK to the broker (paho ``manual_ack``). If the process dies anywhere before the commit, the broker
redelivers (QoS1) or the agent resends after its ack timeout; the (agent, msg_id) key makes both harmless.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from prometheus_client import CollectorRegistry, Counter, Gauge

from edge_agent.publishing.mqtt_publisher import session_properties
from gateway.ingest.gaps import GapTracker
from gateway.ingest.validate import ack_target, validate
from gateway.settings import GatewaySettings
from gateway.store.base import DeadLetter, Incoming, Store
from junkan.ids import new_id
from junkan.wire import topics
from junkan.wire.messages import AckItem, AckMessage, CommandMessage, StatusMessage, dump

log = logging.getLogger("junkan.gateway.consumer")
COMMAND_RESEND_S = 3.0  # resend an operator command not yet reflected by a lot event
COMMAND_GIVE_UP_S = 3600.0


@dataclass(frozen=True)
class _Received:
    mid: int
    qos: int
    topic: str
    payload: bytes


class GatewayMetrics:
    """Prometheus metrics of one gateway process (own registry: no module-global state)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.messages = Counter("junkan_gateway_messages_total", "Durable messages by result",
                                ["result"], registry=self.registry)
        self.readings = Counter("junkan_gateway_readings_total", "Readings stored", registry=self.registry)
        self.dead = Counter("junkan_gateway_dead_letters_total", "Payloads dead-lettered", registry=self.registry)
        self.batch_seconds = Gauge("junkan_gateway_last_batch_seconds", "Duration of the last commit",
                                   registry=self.registry)
        self.connected = Gauge("junkan_gateway_mqtt_connected", "1 when connected to the broker",
                               registry=self.registry)
        self.seq_gaps = Gauge("junkan_gateway_seq_gaps_abandoned", "Sequence gaps that never closed",
                              registry=self.registry)


class Consumer:
    def __init__(self, settings: GatewaySettings, store: Store, metrics: GatewayMetrics | None = None) -> None:
        self.settings, self.store = settings, store
        self.metrics = metrics or GatewayMetrics()
        self._inbox: queue.Queue[_Received] = queue.Queue()
        self._pending_commands: list[tuple[float, CommandMessage, list[str]]] = []
        self._dead_log_window: list[float] = [0.0, 0]  # window start, dead letters in it
        self.gaps = GapTracker()
        self._commands_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.connected = threading.Event()
        cfg = settings.mqtt
        self.client = mqtt.Client(
            callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"junkan-gateway-{settings.worker_id}",
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        if cfg.username:
            self.client.username_pw_set(cfg.username, cfg.password())
        if cfg.tls:
            self.client.tls_set(ca_certs=cfg.tls.ca_file, certfile=cfg.tls.cert_file, keyfile=cfg.tls.key_file)
        self.client.reconnect_delay_set(cfg.reconnect_min_s, cfg.reconnect_max_s)  # type: ignore[arg-type]
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    def start(self) -> None:
        # Short session expiry: a dead worker's share of a $share group must not sit queued for long.
        self.client.connect_async(self.settings.mqtt.host, self.settings.mqtt.port,
                                  keepalive=self.settings.mqtt.keepalive_s, clean_start=False,
                                  properties=session_properties(60))
        self.client.loop_start()
        self._thread = threading.Thread(target=self._work, name="gateway-ingest", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Finish the batch in hand (commit + ack), then disconnect; the rest is redelivered."""
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)
        self.client.disconnect()
        self.client.loop_stop()

    # -- paho callbacks ----------------------------------------------------------------------------
    def _on_connect(self, client: mqtt.Client, _ud: Any, _flags: Any, reason: Any, _props: Any) -> None:
        if reason.is_failure:
            log.warning("broker refused connection: %s", reason)
            return
        client.subscribe([(t, 1) for t in topics.gateway_subscriptions(self.settings.share_group)])
        self.connected.set()
        self.metrics.connected.set(1)
        log.info("gateway %s connected to %s:%s", self.settings.worker_id, self.settings.mqtt.host,
                 self.settings.mqtt.port)

    def _on_disconnect(self, *_args: Any) -> None:
        self.connected.clear()
        self.metrics.connected.set(0)

    def _on_message(self, _c: mqtt.Client, _ud: Any, message: mqtt.MQTTMessage) -> None:
        self._inbox.put(_Received(message.mid, message.qos, message.topic, bytes(message.payload)))

    # -- the worker --------------------------------------------------------------------------------
    def _work(self) -> None:
        next_resend = next_gap_check = time.monotonic() + COMMAND_RESEND_S
        while not self._stop.is_set():
            if time.monotonic() >= next_resend:
                self._resend_unapplied_commands()
                next_resend = time.monotonic() + COMMAND_RESEND_S
            if time.monotonic() >= next_gap_check:
                self._check_gaps()
                next_gap_check = time.monotonic() + self.gaps.request_after_s
            try:
                first = self._inbox.get(timeout=0.2)
            except queue.Empty:
                continue
            batch = [first]
            while len(batch) < self.settings.batch_max:
                try:
                    batch.append(self._inbox.get_nowait())
                except queue.Empty:
                    break
            self._process(batch)

    def _process(self, batch: list[_Received]) -> None:
        incoming: list[Incoming] = []
        dead: list[DeadLetter] = []
        statuses: list[StatusMessage] = []
        rejected: list[tuple[str, AckItem]] = []
        for rec in batch:
            result = validate(rec.topic, rec.payload, self.settings.max_payload_bytes)
            if isinstance(result, Incoming):
                incoming.append(result)
            elif isinstance(result, StatusMessage):
                statuses.append(result)
            else:
                dead.append(result)
                target = ack_target(rec.topic, rec.payload)
                if target:
                    rejected.append((target[0], AckItem(msg_id=target[1], result="rejected", reason=result.reason)))
        started = time.perf_counter()
        while True:
            try:
                acks = self.store.commit_batch(incoming, dead, statuses)
                break
            except Exception:  # database busy/unavailable: hold the batch (no PUBACK) and retry
                log.exception("commit failed; retrying in 1 s (nothing acknowledged)")
                if self._stop.wait(1.0):
                    return  # unacked: the broker redelivers to the next worker
        self.metrics.batch_seconds.set(time.perf_counter() - started)
        self._send_acks(incoming, acks, rejected)
        for rec in batch:
            if rec.qos > 0:
                self.client.ack(rec.mid, rec.qos)
        per_result: dict[str, int] = defaultdict(int)  # one metric update per result, not per message
        for ack in acks:
            per_result[ack.result] += 1
        for result_name, count in per_result.items():
            self.metrics.messages.labels(result_name).inc(count)
        self.metrics.readings.inc(sum(len(i.message.body.readings) for i, a in zip(incoming, acks, strict=True)
                                      if a.result == "stored" and hasattr(i.message.body, "readings")))
        self.metrics.dead.inc(len(dead))
        self._log_dead(dead)

    def _log_dead(self, dead: list[DeadLetter]) -> None:
        """At most 10 warnings a minute: a flood of bad payloads must not become a flood of logs."""
        now = time.monotonic()
        if now - self._dead_log_window[0] > 60:
            if self._dead_log_window[1] > 10:
                log.warning("%d more payloads dead-lettered in the last minute (see /api/v1/dead-letters)",
                            self._dead_log_window[1] - 10)
            self._dead_log_window = [now, 0]
        for letter in dead:
            self._dead_log_window[1] += 1
            if self._dead_log_window[1] <= 10:
                log.warning("dead-lettered payload on %s: %s", letter.topic, letter.reason[:300])

    def _send_acks(self, incoming: list[Incoming], acks: list[AckItem],
                   rejected: list[tuple[str, AckItem]]) -> None:
        by_topic: dict[str, list[AckItem]] = defaultdict(list)
        ack_topic: dict[tuple[str, str, str], str] = {}  # built once per agent per batch
        for item, ack in zip(incoming, acks, strict=True):
            t = item.topic
            key = (t.site, t.line, t.agent)
            target = ack_topic.get(key)
            if target is None:
                target = ack_topic[key] = topics.AgentTopics(*key).topic(topics.Kind.ACK)
            by_topic[target].append(ack)
        for topic, ack in rejected:
            by_topic[topic].append(ack)
        for topic, items in by_topic.items():
            for i in range(0, len(items), 1000):
                self.client.publish(topic, dump(AckMessage(acks=items[i : i + 1000])), qos=1)

    # -- sequence gaps ---------------------------------------------------------------------------------
    def _check_gaps(self) -> None:
        try:
            agents = self.store.list_agents()
            for agent in agents:
                name, session = agent["agent"], agent["session"]
                above = self.store.session_seqs_above(name, session, self.gaps.watermark(name, session))
                missing = self.gaps.update(name, session, above, time.monotonic())
                if missing is not None and self.connected.is_set():
                    log.warning("agent %s: seq %d missing while later ones are stored; asking for a resend",
                                name, missing)
                    target = topics.AgentTopics(agent["site"], agent["line"], name).topic(topics.Kind.ACK)
                    self.client.publish(target, dump(AckMessage(acks=[], resend_from_seq=missing)), qos=1)
            self.metrics.seq_gaps.set(len(self.gaps.abandoned))
        except Exception:  # observability must never stop ingest
            log.exception("gap check failed")

    # -- commands to agents ------------------------------------------------------------------------
    def _resend_unapplied_commands(self) -> None:
        """A command is applied when its lot event is stored. Until then it is sent again: a broker that
        crashed lost the agent's queued session, and the agent ignores a cmd_id it has already seen."""
        now = time.monotonic()
        with self._commands_lock:
            pending = [p for p in self._pending_commands if now - p[0] < COMMAND_GIVE_UP_S]
            self._pending_commands = pending
        still: list[tuple[float, CommandMessage, list[str]]] = []
        for sent_at, command, targets in pending:
            lot = self.store.get_lot(command.lot_id) if command.lot_id else None
            applied = lot is not None and (command.action == "open_lot" or lot["status"] == "closed")
            if applied:
                continue
            still.append((sent_at, command, targets))
            if now - sent_at >= COMMAND_RESEND_S and self.connected.is_set():
                for target in targets:
                    self.client.publish(target, dump(command), qos=1)
        with self._commands_lock:
            known = {id(p[1]) for p in pending}
            self._pending_commands = still + [p for p in self._pending_commands if id(p[1]) not in known]

    def send_command(self, line: str, action: str, lot_id: str | None, issued_by: str | None) -> dict[str, Any]:
        agents = self.store.agents_for_line(line)
        if not agents:
            raise LookupError(f"no agent has announced line {line!r}")
        from datetime import UTC, datetime

        command = CommandMessage(cmd_id=new_id(), action=action, line=line, lot_id=lot_id,  # type: ignore[arg-type]
                                 issued_at=datetime.now(UTC), issued_by=issued_by)
        self.store.record_command(command, [a["agent"] for a in agents])
        targets = [topics.AgentTopics(a["site"], a["line"], a["agent"]).topic(topics.Kind.CMD) for a in agents]
        with self._commands_lock:
            self._pending_commands.append((time.monotonic(), command, targets))
        for target in targets:
            self.client.publish(target, dump(command), qos=1)
        return {"cmd_id": command.cmd_id, "action": action, "lot_id": lot_id,
                "agents": [a["agent"] for a in agents]}
