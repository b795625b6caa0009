"""Prometheus metrics of one agent process, read at scrape time from the live objects (no copies)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from edge_agent.drivers.base import Runner
from edge_agent.publishing.outbox import SqliteOutbox


class AgentCollector(Collector):
    def __init__(self, runners: dict[str, Runner], outbox: SqliteOutbox, publisher_stats: dict[str, int],
                 alarms: Any) -> None:
        self.runners, self.outbox, self.publisher_stats, self.alarms = runners, outbox, publisher_stats, alarms

    def collect(self) -> Iterator[Any]:
        depth, age = self.outbox.depth()
        yield GaugeMetricFamily("junkan_agent_outbox_depth", "Messages waiting for the gateway's ack", value=depth)
        yield GaugeMetricFamily("junkan_agent_outbox_oldest_age_seconds", "Age of the oldest unacked message",
                                value=age)
        frames = CounterMetricFamily("junkan_agent_frames", "Frames decoded per device", labels=["device", "result"])
        reconnects = CounterMetricFamily("junkan_agent_device_reconnects", "Reconnects per device", labels=["device"])
        seen = GaugeMetricFamily("junkan_agent_device_last_reading_timestamp_seconds",
                                 "When the device last gave a valid reading", labels=["device"])
        for name, runner in self.runners.items():
            c = runner.counters
            frames.add_metric([name, "ok"], c.frames_ok)
            frames.add_metric([name, "bad"], c.frames_bad)
            reconnects.add_metric([name], c.reconnects)
            if c.last_reading_at is not None:
                seen.add_metric([name], c.last_reading_at.timestamp())
        yield frames
        yield reconnects
        yield seen
        published = CounterMetricFamily("junkan_agent_messages", "Outbox messages by outcome", labels=["outcome"])
        for outcome, value in self.publisher_stats.items():
            published.add_metric([outcome], value)
        yield published
        yield GaugeMetricFamily("junkan_agent_alarms", "Active alarms", value=len(self.alarms()))


def serve_metrics(port: int, collector: AgentCollector, host: str = "127.0.0.1") -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(collector)
    start_http_server(port, addr=host, registry=registry)
    return registry
