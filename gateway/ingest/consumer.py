"""The MQTT side of the gateway: shared subscription in, commit, then acks out.

Order per batch: validate -> one database transaction -> publish application acks to the agents ->
PUBACK to the broker (paho ``manual_ack``). If the process dies anywhere before the commit, the broker
redelivers (QoS1) or the agent resends after its ack timeout; the (agent, msg_id) key makes both harmless.

One thread owns the connection: it runs paho's loop, validates, commits and acks. Handing each message
from paho's thread to an ingest thread cost ~1.5x the CPU per message, and a writer thread taking whole
batches ~2x, from GIL contention (measured, docs/scaling.md "P1"). Other threads (the API sending a
command) only queue a publish: ``on_socket_register_write`` makes paho leave the socket write to the loop
thread, which select() wakes through paho's socket pair.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from prometheus_client import CollectorRegistry, Counter, Gauge

from gateway.ingest.gaps import GapTracker
from gateway.ingest.validate import ack_target, validate
from gateway.settings import GatewaySettings
from gateway.store.base import DeadLetter, Incoming, Store
from junkan.core import topics
from junkan.core.ids import new_id
from junkan.core.messages import AckItem, AckMessage, CommandMessage, StatusMessage, dump
from junkan.core.mqtt import make_client, session_properties

log = logging.getLogger("junkan.gateway.consumer")
COMMAND_RESEND_S = 3.0  # resend an operator command not yet reflected by a lot event
COMMAND_GIVE_UP_S = 3600.0
IDLE_WAIT_S = 0.2  # longest select() when nothing is in hand (periodic work and stop() stay prompt)


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
        # (mid, qos, topic, payload) since the last commit; loop thread only. Plain tuples: holding paho's
        # message objects for a whole batch instead cost ~1.6x the CPU per message (measured, P1).
        self._received: list[tuple[int, int, str, bytes]] = []
        self._connection = 0  # counts CONNACKs: a PUBACK is only valid on the connection its message came on
        self._pending_commands: list[tuple[float, CommandMessage, list[str]]] = []
        self._dead_log_window: list[float] = [0.0, 0]  # window start, dead letters in it
        self.gaps = GapTracker()
        self._commands_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.connected = threading.Event()
        self.on_tick: Callable[[], None] = lambda: None  # every loop turn: the systemd watchdog ping
        cfg = settings.mqtt
        self.client = make_client(cfg, f"junkan-gateway-{settings.worker_id}", manual_ack=True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        # publish() from any thread then only queues and wakes select(); the loop thread writes.
        self.client.on_socket_register_write = lambda *_a: None

    def start(self) -> None:
        # Short session expiry: a dead worker's share of a $share group must not sit queued for long.
        self.client.connect_async(self.settings.mqtt.host, self.settings.mqtt.port,
                                  keepalive=self.settings.mqtt.keepalive_s, clean_start=False,
                                  properties=session_properties(60))
        self._thread = threading.Thread(target=self._run, name="gateway-ingest", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Finish the batch in hand (commit + ack), then disconnect; the rest is redelivered."""
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)

    # -- paho callbacks (all run in the loop thread) ---------------------------------------------------
    def _on_connect(self, client: mqtt.Client, _ud: Any, _flags: Any, reason: Any, _props: Any) -> None:
        if reason.is_failure:
            log.warning("broker refused connection: %s", reason)
            return
        self._connection += 1
        client.subscribe([(t, 1) for t in topics.gateway_subscriptions(self.settings.share_group)])
        self.connected.set()
        self.metrics.connected.set(1)
        log.info("gateway %s connected to %s:%s", self.settings.worker_id, self.settings.mqtt.host,
                 self.settings.mqtt.port)

    def _on_disconnect(self, *_args: Any) -> None:
        self.connected.clear()
        self.metrics.connected.set(0)
        self._received.clear()  # never acked: the broker redelivers them on the next connection

    def _on_message(self, _c: mqtt.Client, _ud: Any, message: mqtt.MQTTMessage) -> None:
        self._received.append((message.mid, message.qos, message.topic, bytes(message.payload)))

    # -- the loop thread ---------------------------------------------------------------------------
    def _run(self) -> None:
        next_resend = next_gap_check = time.monotonic() + COMMAND_RESEND_S
        delay = self.settings.mqtt.reconnect_min_s
        while not self._stop.is_set():
            self.on_tick()
            if self.client.socket() is None:
                if not self._reconnect():
                    self._stop.wait(delay)
                    delay = min(delay * 2, self.settings.mqtt.reconnect_max_s)
                    continue
                delay = self.settings.mqtt.reconnect_min_s
            try:
                self._step()
            except Exception:  # a bug must not end ingest, nor leave messages unacked on a live connection
                log.exception("ingest loop failed; reconnecting so the broker redelivers what is unacknowledged")
                self._disconnect()
                self._stop.wait(delay)
                continue
            now = time.monotonic()
            if now >= next_resend:
                self._resend_unapplied_commands()
                next_resend = now + COMMAND_RESEND_S
            if now >= next_gap_check:
                self._check_gaps()
                next_gap_check = now + self.gaps.request_after_s
        self._disconnect()

    def _step(self) -> None:
        held = len(self._received)
        self.client.loop(timeout=0.0 if held else IDLE_WAIT_S)
        # Commit when the batch is full or the socket had nothing more for us right now.
        if self._received and (len(self._received) >= self.settings.batch_max or len(self._received) == held):
            batch, self._received = self._received, []
            self._process(batch)

    def _reconnect(self) -> bool:
        try:
            self.client.reconnect()
            return True
        except OSError as exc:  # refused, unreachable, TLS failure: try again after the back-off
            log.warning("cannot reach broker %s:%s: %s", self.settings.mqtt.host, self.settings.mqtt.port, exc)
            return False

    def _disconnect(self) -> None:
        """Send what is queued (the last PUBACKs, then DISCONNECT) before the socket closes; ``_on_disconnect``
        drops what was received and not committed."""
        if self.client.socket() is not None:
            self.client.disconnect()
            deadline = time.monotonic() + 2.0
            while self.client.socket() is not None and time.monotonic() < deadline:
                self.client.loop(timeout=0.05)
        self.connected.clear()
        self.metrics.connected.set(0)

    def _pump(self, seconds: float) -> None:
        """Keep the connection alive (pings) while the database is unavailable; what arrives meanwhile
        waits in ``_received`` for the next batch."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not self._stop.is_set():
            self.on_tick()  # waiting for the database on purpose is not a hung loop
            if self.client.socket() is None:
                self._stop.wait(min(0.2, seconds))
            else:
                self.client.loop(timeout=0.1)

    def _process(self, batch: list[tuple[int, int, str, bytes]]) -> None:
        connection = self._connection
        incoming: list[Incoming] = []
        dead: list[DeadLetter] = []
        statuses: list[StatusMessage] = []
        rejected: list[tuple[str, AckItem]] = []
        for _mid, _qos, topic, payload in batch:
            result = validate(topic, payload, self.settings.max_payload_bytes)
            if isinstance(result, Incoming):
                incoming.append(result)
            elif isinstance(result, StatusMessage):
                statuses.append(result)
            else:
                dead.append(result)
                target = ack_target(topic, payload)
                if target:
                    rejected.append((target[0], AckItem(msg_id=target[1], result="rejected", reason=result.reason)))
        started = time.perf_counter()
        while True:
            try:
                acks = self.store.commit_batch(incoming, dead, statuses)
                break
            except Exception:  # database busy/unavailable: hold the batch (no PUBACK) and retry
                log.exception("commit failed; retrying in 1 s (nothing acknowledged)")
                self._pump(1.0)
                if self._stop.is_set() or connection != self._connection or self.client.socket() is None:
                    return  # unacked: the broker redelivers to this or the next worker
        self.metrics.batch_seconds.set(time.perf_counter() - started)
        self._send_acks(incoming, acks, rejected)
        if connection == self._connection:  # after a reconnect the broker redelivers them instead
            for mid, qos, _topic, _payload in batch:
                if qos > 0:
                    self.client.ack(mid, qos)
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
