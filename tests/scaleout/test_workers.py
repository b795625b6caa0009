"""Several `junkan gateway serve` workers on one $share group, one PostgreSQL; SIGKILL one mid-run.

Agents deliver through the real outbox + publisher and retire a message only on the gateway's ack,
which comes after the commit. So whatever the killed worker had in hand is either committed (and a
resend is acked as a duplicate) or not (and the resend lands on a live worker): 0 lost, 0 duplicated.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from junkan.broker import Mosquitto, free_port, wait_for_port
from junkan.plant import Service
from tests.scaleout.load import LoadAgent, wait_drained

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


def start_workers(n: int, broker: Mosquitto, db_url: str, workdir: Path) -> list[Service]:
    workers = []
    for i in range(n):
        port = free_port()
        args = ["gateway", "serve", "--set", f"mqtt.port={broker.port}", "--set", f"api.port={port}",
                "--set", f"db_url={db_url}", "--set", f"worker_id=gw{i + 1}"]
        workers.append(Service(f"gw{i + 1}", args, workdir).start())
        workers[-1].api_port = port  # type: ignore[attr-defined]
    for w in workers:
        wait_for_port(w.api_port, timeout=60)  # type: ignore[attr-defined]
    return workers


def test_sigkill_of_one_worker_loses_and_duplicates_nothing(mosquitto: Mosquitto, pg_url: str,
                                                            tmp_path: Path) -> None:
    workers = start_workers(3, mosquitto, pg_url, tmp_path)
    agents = [LoadAgent(tmp_path, mosquitto.port, f"agent-{i}", ack_timeout_s=2.0) for i in range(3)]
    per_agent, per_message = 6000, 10
    for agent in agents:
        agent.fill(per_agent, per_message)
    total_messages = sum(a.enqueued for a in agents)
    killed: list[int] = []

    def kill_midway(left: int) -> None:
        if not killed and left < total_messages * 0.6:
            workers[1].kill()
            killed.append(left)

    try:
        for agent in agents:
            agent.start()
        wait_drained(agents, timeout=120, on_progress=kill_midway)
        assert killed and killed[0] > 0, "the worker was not killed while messages were still in flight"
        assert not workers[1].alive() and workers[0].alive() and workers[2].alive()
    finally:
        for agent in agents:
            agent.stop()
        for w in workers:
            w.stop()

    with psycopg.connect(pg_url) as conn:
        n_messages = conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0]  # type: ignore[index]
        per_device = conn.execute(
            "SELECT agent, COUNT(*), COUNT(DISTINCT device_seq), MIN(device_seq), MAX(device_seq) "
            "FROM readings GROUP BY agent ORDER BY agent").fetchall()
    assert n_messages == total_messages
    assert per_device == [(a.topics.agent, per_agent, per_agent, 0, per_agent - 1) for a in agents]
    logs = "".join((tmp_path / f"gw{i}.log").read_text(errors="replace") for i in (1, 3))
    assert "Traceback" not in logs
