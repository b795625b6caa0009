"""PostgreSQL ingest with 1, 2 and 4 `junkan gateway serve` workers on one $share group.

For each N: a fresh database; N workers start (creating their persistent sessions), are stopped, a
backlog of 50-reading QoS1 messages is queued for the group, the same N workers start again and the
clock runs from their first commit to the last (so process start-up is not counted). Baseline: 1 worker.
The PostgreSQL server is a throwaway cluster (tests/pg.py) with fsync ON, as in production.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import psycopg

from junkan.broker import Mosquitto, free_port, wait_for_port
from junkan.core.ids import new_id
from junkan.core.topics import AgentTopics
from junkan.plant import Service
from tests.benchmarks.common import Figure, publish_backlog
from tests.pg import PgServer, why_unavailable
from tests.scaleout.load import reading_payloads


def _workers(n: int, port: int, db_url: str, work: Path, group: str) -> list[Service]:
    out = []
    for i in range(n):
        api = free_port()
        svc = Service(f"w{n}-{i}", ["gateway", "serve", "--set", f"mqtt.port={port}", "--set", f"api.port={api}",
                                    "--set", f"db_url={db_url}", "--set", f"worker_id={group}-{i}",
                                    "--set", f"share_group={group}"], work).start()
        out.append(svc)
        wait_for_port(api, timeout=60)
    return out


def run_workers(n: int, pg: PgServer, broker: Mosquitto, work: Path, n_readings: int, per_message: int) -> float:
    """Readings/s committed by ``n`` workers draining a queued backlog."""
    db_url = pg.create_database("junkan_bench")
    group = f"b{n}{new_id()[-5:].lower()}"
    try:
        workers = _workers(n, broker.port, db_url, work, group)
        time.sleep(1.0)  # SUBACKs
        for w in workers:
            w.stop()
        messages = []
        for a in range(4):  # four agents, as several lines would send
            out = reading_payloads(AgentTopics("site-a", f"line-{a}", f"agent-{a}"), new_id(), n_readings // 4,
                                   per_message)
            messages += [(m.topic, m.payload) for m in out]
        publish_backlog(broker.port, messages)
        total = len(messages)
        workers = _workers(n, broker.port, db_url, work, group)
        first: tuple[float, int] | None = None
        deadline = time.monotonic() + 600
        with psycopg.connect(db_url, autocommit=True) as conn:
            while True:
                count = conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0]  # type: ignore[index]
                now = time.perf_counter()
                if first is None and count > 0:
                    first = (now, count)
                if count >= total:
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{n} workers: {count}/{total} messages after 600 s")
                time.sleep(0.05)
            readings = conn.execute("SELECT COUNT(*) FROM readings").fetchone()[0]  # type: ignore[index]
        for w in workers:
            w.stop()
        assert readings == total * per_message, (readings, total * per_message)
        assert first is not None
        return (total - first[1]) * per_message / max(now - first[0], 1e-6)
    finally:
        pg.drop_database(db_url)


def workers_bench(quick: bool, n_readings: int | None = None, per_message: int = 50,
                  counts: tuple[int, ...] = (1, 2, 4)) -> dict[str, Figure | str]:
    reason = why_unavailable()
    if reason:
        return {f"PG_{n}w": f"skipped: {reason}" for n in counts}
    n = n_readings or (100_000 if quick else 400_000)
    rates: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="junkan-bench-pg-") as tmp, PgServer(fsync=True) as pg:
        broker = Mosquitto(Path(tmp) / "broker").start()
        try:
            for count in counts:
                rates[count] = run_workers(count, pg, broker, Path(tmp), n, per_message)
        finally:
            broker.stop()
    return {f"PG_{c}w": Figure(rates[c], rates[counts[0]], "readings/s",
                               f"{c} gateway worker(s) -> PostgreSQL, {n} readings, {per_message}/message",
                               f"{counts[0]} worker, same run") for c in counts}
