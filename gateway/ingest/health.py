"""What the gateway says about its own ingest: Prometheus metrics and the readiness verdict.

Liveness (``/healthz``) is only "the process answers". Readiness (``/readyz``) is "ingest is moving":
connected to the broker, and no received message has waited for its commit and ack longer than
``ingest.stall_after_s``. Both are read from a few numbers the consumer thread keeps in memory, so
neither touches the database (a held lock or a 20M-row store must not make the probe slow or wrong).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, PlatformCollector, ProcessCollector


class GatewayMetrics:
    """Prometheus metrics of one gateway process (own registry: no module-global state)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)  # CPU, memory, open fds of this process
        PlatformCollector(registry=self.registry)
        self.messages = Counter("junkan_gateway_messages_total", "Durable messages by result",
                                ["result"], registry=self.registry)
        self.readings = Counter("junkan_gateway_readings_total", "Readings stored", registry=self.registry)
        self.dead = Counter("junkan_gateway_dead_letters_total", "Payloads dead-lettered, by reason code",
                            ["reason"], registry=self.registry)
        self.batch_seconds = Gauge("junkan_gateway_last_batch_seconds", "Duration of the last commit",
                                   registry=self.registry)
        self.connected = Gauge("junkan_gateway_mqtt_connected", "1 when connected to the broker",
                               registry=self.registry)
        self.seq_gaps = Gauge("junkan_gateway_seq_gaps_abandoned", "Sequence gaps that never closed",
                              registry=self.registry)
        self.commit_failures = Counter("junkan_gateway_commit_failures_total",
                                       "Failed commit attempts (database unavailable, or a poison message)",
                                       registry=self.registry)
        self.last_commit = Gauge("junkan_gateway_last_commit_timestamp_seconds",
                                 "Unix time of the last successful commit", registry=self.registry)
        self.last_commit_age = Gauge("junkan_gateway_last_commit_age_seconds",
                                     "Seconds since the last successful commit (-1: none yet)",
                                     registry=self.registry)
        self.oldest_unacked_age = Gauge("junkan_gateway_oldest_unacked_age_seconds",
                                        "Age of the oldest received message not yet committed and acked",
                                        registry=self.registry)
        self.ready = Gauge("junkan_gateway_ready", "1 when /readyz answers 200", registry=self.registry)


@dataclass
class IngestHealth:
    """Written by the consumer thread only; read by API threads (plain floats: consistent enough)."""

    stall_after_s: float = 60.0
    connected: bool = False
    last_commit_mono: float | None = None
    last_commit_wall: float | None = None
    commit_failures: int = 0
    consecutive_failures: int = 0
    last_failure: str | None = None
    received_since: float | None = None  # monotonic time the oldest message in hand arrived
    batch_since: float | None = None  # same, for the batch being committed now
    started_mono: float = field(default_factory=time.monotonic)

    def oldest_unacked_age(self, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        since = [t for t in (self.batch_since, self.received_since) if t is not None]
        return now - min(since) if since else 0.0

    def last_commit_age(self, now: float | None = None) -> float | None:
        if self.last_commit_mono is None:
            return None
        return (time.monotonic() if now is None else now) - self.last_commit_mono

    def verdict(self) -> dict[str, Any]:
        now = time.monotonic()
        oldest = self.oldest_unacked_age(now)
        problems = []
        if not self.connected:
            problems.append("not connected to the MQTT broker")
        if oldest > self.stall_after_s:
            problems.append(f"a message has waited {oldest:.1f} s for its commit (limit {self.stall_after_s:g} s)")
        age = self.last_commit_age(now)
        return {"ready": not problems, "problems": problems, "mqtt_connected": self.connected,
                "last_commit_age_s": None if age is None else round(age, 3),
                "oldest_unacked_age_s": round(oldest, 3), "commit_failures": self.commit_failures,
                "consecutive_commit_failures": self.consecutive_failures, "last_commit_failure": self.last_failure,
                "stall_after_s": self.stall_after_s}

    def bind(self, metrics: GatewayMetrics) -> None:
        """Gauges read at scrape time from this object."""
        metrics.last_commit_age.set_function(lambda: -1.0 if (a := self.last_commit_age()) is None else a)
        metrics.oldest_unacked_age.set_function(self.oldest_unacked_age)
        metrics.ready.set_function(lambda: 1.0 if self.verdict()["ready"] else 0.0)
