"""Load generation with the agent's real delivery path: ``SqliteOutbox`` + ``MqttPublisher``.

A ``LoadAgent`` pre-fills its outbox with reading messages (as ``AgentCore`` would: persistent seq,
per-device sequence, ULID msg ids) and then lets the real publisher deliver them; messages leave the
outbox only on the gateway's application ack. Used by the scale-out test and the benchmarks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from edge_agent.publishing.mqtt_publisher import MqttPublisher
from edge_agent.publishing.outbox import OutgoingMessage, SqliteOutbox
from junkan.core.ids import new_id
from junkan.core.messages import Reading, ReadingBody, ReadingMessage, StatusMessage, dump
from junkan.core.mqtt import MqttConfig
from junkan.core.topics import AgentTopics, Kind

# Recent, so the gateway's clock window (ingest.max_past_s) never refuses the load as the calendar moves.
T0 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)


def reading_payloads(topics: AgentTopics, session: str, n_readings: int, per_message: int, first_seq: int = 1,
                     device: str = "xrf-1", lot_id: str | None = "") -> list[OutgoingMessage]:
    """``n_readings`` readings of one device, ``per_message`` to a message, numbered 0..n-1 (device_seq).
    The lot defaults to one of the agent's own (a lot belongs to one agent: the gateway refuses another's)."""
    lot_id = f"LOT-LOAD-{topics.agent}" if lot_id == "" else lot_id
    out: list[OutgoingMessage] = []
    topic = topics.topic(Kind.READING)
    for i, start in enumerate(range(0, n_readings, per_message)):
        rows = [Reading(device=device, device_seq=s, ts=T0 + timedelta(milliseconds=s), kind="xrf",
                        value=round(0.1 + (s % 97) / 10, 3), unit="%", status="ok", lot_id=lot_id,
                        data={"cu": 0.12, "fe": 95.1})
                for s in range(start, min(start + per_message, n_readings))]
        seq, msg_id = first_seq + i, new_id()
        msg = ReadingMessage(msg_id=msg_id, agent=topics.agent, session=session, seq=seq, sent_at=T0,
                             body=ReadingBody(readings=rows))
        out.append(OutgoingMessage(seq, msg_id, Kind.READING.value, topic, dump(msg)))
    return out


class LoadAgent:
    """One simulated agent: an outbox file, a publisher, and the count of what it was given to deliver."""

    def __init__(self, workdir: Path, broker_port: int, agent: str, site: str = "site-a", line: str = "line-1",
                 window: int = 500, ack_timeout_s: float = 10.0) -> None:
        self.topics = AgentTopics(site, line, agent)
        self.session = new_id()
        self.outbox = SqliteOutbox(Path(workdir) / f"{agent}-outbox.db", max_messages=10_000_000)
        self.cfg = MqttConfig(port=broker_port, keepalive_s=5)
        self.window, self.ack_timeout_s = window, ack_timeout_s
        self.publisher: MqttPublisher | None = None
        self.enqueued = 0

    def status(self, state: str) -> StatusMessage:
        return StatusMessage(agent=self.topics.agent, site=self.topics.site, line=self.topics.line,
                             session=self.session, state=state, at=datetime.now(UTC))  # type: ignore[arg-type]

    def fill(self, n_readings: int, per_message: int, chunk: int = 5000) -> int:
        """Put ``n_readings`` into the outbox (committed in chunks, as a running agent would); returns messages."""
        messages = reading_payloads(self.topics, self.session, n_readings, per_message, first_seq=self.enqueued + 1)
        for i in range(0, len(messages), chunk):
            self.outbox.enqueue(messages[i : i + chunk], {"seq": self.enqueued + min(i + chunk, len(messages))})
        self.enqueued += len(messages)
        return len(messages)

    def start(self) -> LoadAgent:
        self.publisher = MqttPublisher(self.cfg, self.topics, self.outbox, self.status, on_command=lambda _c: None,
                                       window=self.window, ack_timeout_s=self.ack_timeout_s, status_interval_s=30)
        self.publisher.start()
        self.publisher.wake()
        return self

    def depth(self) -> int:
        return self.outbox.depth()[0]

    def stop(self) -> None:
        if self.publisher:
            self.publisher.stop()
            self.publisher = None
        self.outbox.close()


def wait_drained(agents: list[LoadAgent], timeout: float, on_progress: Callable[[int], None] | None = None,
                 poll_s: float = 0.05) -> float:
    """Wait until every outbox is empty (all acked); returns the seconds it took. Raises on timeout."""
    started = time.monotonic()
    deadline = started + timeout
    while True:
        left = sum(a.depth() for a in agents)
        if on_progress:
            on_progress(left)
        if left == 0:
            return time.monotonic() - started
        if time.monotonic() > deadline:
            raise TimeoutError(f"{left} messages still unacked after {timeout} s")
        time.sleep(poll_s)
