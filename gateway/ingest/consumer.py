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
from datetime import UTC, datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt

from gateway.ingest.gaps import GapTracker
from gateway.ingest.health import GatewayMetrics, IngestHealth
from gateway.ingest.isolation import Committer, Item
from gateway.ingest.validate import KEEP_BYTES, IngestPolicy, ack_target, dead, validate
from gateway.settings import GatewaySettings
from gateway.store.base import DeadLetter, Incoming, Store
from gateway.store.sql import WriteOptions
from junkan.core import topics
from junkan.core.ids import new_id
from junkan.core.messages import AckItem, AckMessage, CommandMessage, StatusMessage, dump
from junkan.core.mqtt import make_client, session_properties

log = logging.getLogger("junkan.gateway.consumer")
COMMAND_RESEND_S = 3.0  # resend an operator command not yet reflected by a lot event
COMMAND_GIVE_UP_S = 3600.0
IDLE_WAIT_S = 0.2  # longest select() when nothing is in hand (periodic work and stop() stay prompt)
CAREFUL_S = 30.0  # after a failure of the loop, batches of one message for this long
PURGE_EVERY_S = 600.0  # dead-letter retention is applied this often
DELIVERIES_TRACKED = 100_000  # message ids whose delivery count is remembered (oldest forgotten first)

__all__ = ["Consumer", "GatewayMetrics"]


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
        ingest = settings.ingest
        self.policy = IngestPolicy(max_bytes=settings.max_payload_bytes, max_past_s=ingest.max_past_s,
                                   max_future_s=ingest.max_future_s)
        self.health = IngestHealth(stall_after_s=ingest.stall_after_s)
        self.health.bind(self.metrics)
        # (agent, msg_id) -> times it was in a batch that did not complete: a message that keeps coming back
        # (a crash in its processing, a broker redelivering it) is dead-lettered after max_redeliveries.
        self._deliveries: dict[tuple[str, str], int] = {}
        self._pending_dead: list[DeadLetter] = []  # found after a commit (an ack that failed): next batch
        self._next_purge = 0.0
        self._careful_until = 0.0
        self.committer = Committer(store, self._write_options, self._commit_failed)
        self._commands_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.connected = threading.Event()
        self.on_tick: Callable[[], None] = lambda: None  # every loop turn: the systemd watchdog ping
        cfg = settings.mqtt
        self.client = make_client(cfg, f"junkan-gateway-{settings.worker_id}", manual_ack=True)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
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

    def _on_subscribe(self, _c: mqtt.Client, _ud: Any, _mid: int, reason_codes: Any, _props: Any) -> None:
        """Connected counts from the SUBACK: before it, what agents publish may reach no subscriber."""
        if any(rc.is_failure for rc in reason_codes):
            log.error("broker refused the gateway's subscriptions: %s", reason_codes)
            return
        self.connected.set()
        self.health.connected = True
        self.metrics.connected.set(1)
        log.info("gateway %s connected to %s:%s", self.settings.worker_id, self.settings.mqtt.host,
                 self.settings.mqtt.port)

    def _on_disconnect(self, *_args: Any) -> None:
        self.connected.clear()
        self.health.connected = False
        self.metrics.connected.set(0)
        self._received.clear()  # never acked: the broker redelivers them on the next connection
        self.health.received_since = None

    def _on_message(self, _c: mqtt.Client, _ud: Any, message: mqtt.MQTTMessage) -> None:
        if not self._received:
            self.health.received_since = time.monotonic()
        try:
            topic = message.topic
        except UnicodeDecodeError:  # not UTF-8: paho cannot even name it; keep its bytes for the dead letter
            topic = message._topic.decode("utf-8", "replace")
        self._received.append((message.mid, message.qos, topic, bytes(message.payload)))

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
                # One message at a time for a while: the one that fails is then the only one whose
                # delivery count grows to max_redeliveries (and is dead-lettered), not its batch's.
                self._careful_until = time.monotonic() + CAREFUL_S
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
        batch_max = 1 if time.monotonic() < self._careful_until else self.settings.batch_max
        if self._received and (len(self._received) >= batch_max or len(self._received) == held):
            since = self.health.received_since
            batch, self._received = self._received[:batch_max], self._received[batch_max:]
            self.health.batch_since, self.health.received_since = since, since if self._received else None
            try:
                self._process(batch)
            finally:
                self.health.batch_since = None

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
        self.health.connected = False
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

    # -- one batch: validate, commit (isolating poison), ack, PUBACK --------------------------------------
    def _write_options(self) -> WriteOptions:
        cfg = self.settings.dead_letters
        purge = None
        if time.monotonic() >= self._next_purge:
            purge = (datetime.now(UTC) - timedelta(days=cfg.retention_days)).isoformat()
        return WriteOptions(budget_bytes_per_agent=cfg.budget_bytes_per_agent, keep_bytes=cfg.keep_bytes,
                            purge_before=purge)

    def _commit_failed(self, exc: BaseException) -> None:
        self.health.commit_failures += 1
        self.health.consecutive_failures += 1
        self.health.last_failure = f"{type(exc).__name__}: {str(exc)[:200]}"
        self.metrics.commit_failures.inc()

    def _validate(self, topic: str, payload: bytes) -> Incoming | StatusMessage | DeadLetter:
        try:
            result = validate(topic, payload, self.policy)
        except Exception as exc:  # a bug in validation costs this message, never the site
            log.exception("validation raised on %s", topic[:200])
            return dead(topic, payload[:KEEP_BYTES], "schema", f"validation failed: {type(exc).__name__}")
        if isinstance(result, Incoming):
            key = (result.agent, result.msg_id)
            seen = self._deliveries.get(key, 0) + 1
            self._deliveries[key] = seen
            if seen > 1 and seen > self.settings.ingest.max_redeliveries:
                return dead(topic, payload, "redelivered", f"delivered {seen} times without completing",
                            result.msg_id)
        return result

    def _process(self, batch: list[tuple[int, int, str, bytes]]) -> None:
        connection = self._connection
        incoming: list[Incoming] = []
        items: list[Item] = [Item("dead", -1, letter) for letter in self._pending_dead]
        self._pending_dead = []
        for _mid, _qos, topic, payload in batch:
            result = self._validate(topic, payload)
            if isinstance(result, Incoming):
                items.append(Item("in", len(incoming), result))
                incoming.append(result)
            elif isinstance(result, StatusMessage):
                items.append(Item("status", -1, result))
            else:
                items.append(Item("dead", -1, result))
        all_items = items
        started = time.perf_counter()
        acks: dict[int, AckItem] = {}
        dead_codes: list[str] = []
        while items:
            outcome = self.committer.commit(items)
            acks.update(outcome.acks)
            dead_codes += outcome.dead_codes
            items = outcome.held
            if items:  # the database is unavailable: hold what is left (no ack, no PUBACK) and retry
                log.warning("commit failed (%s); holding %d items, retrying in 1 s", self.health.last_failure,
                            len(items))
                for item in items:  # the outage explains a redelivery of these: it does not count
                    if item.kind == "in":
                        key = (item.value.agent, item.value.msg_id)
                        self._deliveries[key] = self._deliveries.get(key, 1) - 1
                self._pump(1.0)
                if self._stop.is_set() or connection != self._connection or self.client.socket() is None:
                    return  # unacked: the broker redelivers to this or the next worker
        self._committed(time.perf_counter() - started)
        refused = [item.value for item in all_items if item.kind == "dead"]
        rejected = self._rejections(refused)
        ordered = [acks[i] for i in range(len(incoming))]
        self._send_acks(incoming, ordered, rejected)
        if connection == self._connection:  # after a reconnect the broker redelivers them instead
            for mid, qos, _topic, _payload in batch:
                if qos > 0:
                    self.client.ack(mid, qos)
        self._count(incoming, ordered, dead_codes)
        self._log_dead(refused)
        deliveries = self._deliveries  # completed: a later delivery (an agent's resend) starts counting afresh
        for done in incoming:
            deliveries.pop((done.agent, done.msg_id), None)
        if len(deliveries) > DELIVERIES_TRACKED:  # ids of messages that never completed nor came back
            deliveries.clear()

    def _committed(self, seconds: float) -> None:
        self.health.last_commit_mono, self.health.last_commit_wall = time.monotonic(), time.time()
        self.health.consecutive_failures = 0
        self.metrics.last_commit.set(self.health.last_commit_wall)
        self.metrics.batch_seconds.set(seconds)
        if time.monotonic() >= self._next_purge:
            self._next_purge = time.monotonic() + PURGE_EVERY_S

    @staticmethod
    def _rejections(refused: list[DeadLetter]) -> list[tuple[str, AckItem]]:
        """Dead-lettered durable messages get a ``rejected`` ack so their agent stops resending them."""
        out = []
        for letter in refused:
            target = ack_target(letter.topic, letter)
            if target and letter.msg_id:
                out.append((target, AckItem(msg_id=letter.msg_id, result="rejected", reason=letter.reason[:500])))
        return out

    def _count(self, incoming: list[Incoming], acks: list[AckItem], dead_codes: list[str]) -> None:
        per_result: dict[str, int] = defaultdict(int)  # one metric update per result, not per message
        for ack in acks:
            per_result[ack.result] += 1
        for result_name, count in per_result.items():
            self.metrics.messages.labels(result_name).inc(count)
        self.metrics.readings.inc(sum(len(i.readings) for i, a in zip(incoming, acks, strict=True)
                                      if a.result == "stored" and i.readings is not None))
        per_code: dict[str, int] = defaultdict(int)
        for code in dead_codes:
            per_code[code] += 1
        for code, count in per_code.items():
            self.metrics.dead.labels(code).inc(count)

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
            try:
                for i in range(0, len(items), 1000):
                    self.client.publish(topic, dump(AckMessage(acks=items[i : i + 1000])), qos=1)
            except Exception as exc:  # one agent's acks failing must not stop the others' (nor the PUBACKs)
                log.exception("acks to %s failed", topic[:200])
                reason = f"ack_error: {type(exc).__name__}: {str(exc)[:200]}"
                ids = {a.msg_id for a in items}
                self._pending_dead += [DeadLetter(topics.AgentTopics(i.topic.site, i.topic.line, i.topic.agent)
                                                  .topic(i.topic.kind), i.payload, reason, msg_id=i.msg_id)
                                       for i in incoming if i.msg_id in ids]

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
