"""Fault-suite harness: a numbered event source, the real agent/gateway/broker processes, a killer,
and the comparison of what the device produced with what the gateway stored.

The device is an NIR sorter streaming numbered object events (``nir_events_tcp``) that keeps its events
and replays after the ``resume_after`` id the agent sends on connect — the agent commits that id with the
readings, so even a SIGKILL of the agent can be exactly-once from device to store.
"""

from __future__ import annotations

import itertools
import json
import random
import socket
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

from junkan.plant import Plant

POLYMERS = ["PP", "PE", "PS", "ABS", "PET"]


class EventSource:
    """Produces ``total`` events at ``rate`` per second whether or not anyone listens (the sorter runs)."""

    def __init__(self, total: int, rate: float, seed: int = 1) -> None:
        self.total, self.rate = total, rate
        self.log: list[bytes] = []
        self._rng = random.Random(seed)
        self._stop = threading.Event()
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(4)
        self.port = int(self._server.getsockname()[1])
        self.connections = 0
        self.sessions: list[dict[str, object]] = []  # per connection: resume point, sent, how it ended
        self.done = threading.Event()

    def start(self) -> EventSource:
        threading.Thread(target=self._produce, daemon=True).start()
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._server.close()

    def _produce(self) -> None:
        start = time.monotonic()
        for i in range(self.total):
            due = start + i / self.rate
            delay = due - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                return
            event = {"id": i, "t": datetime.now(UTC).isoformat(), "class": self._rng.choice(POLYMERS),
                     "confidence": round(self._rng.uniform(0.8, 1.0), 3), "size_mm": round(self._rng.uniform(8, 40), 1)}
            self.log.append((json.dumps(event) + "\n").encode())
        self.done.set()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            self.connections += 1
            session: dict[str, object] = {"start": None, "sent_to": None, "end": "stopped"}
            self.sessions.append(session)
            try:
                self._stream(conn, session)
            except OSError as exc:
                session["end"] = repr(exc)
            finally:
                conn.close()

    def _stream(self, conn: socket.socket, session: dict[str, object]) -> None:
        conn.settimeout(10.0)  # the agent sends its resume request right after connecting
        position = 0
        try:
            first = conn.recv(4096).split(b"\n")[0]
            last = json.loads(first).get("resume_after") if first else None
            position = 0 if last is None else int(last) + 1
        except (TimeoutError, ValueError, AttributeError):
            position = 0
        session["start"] = position
        conn.settimeout(5.0)
        while not self._stop.is_set():
            session["sent_to"] = position
            end = len(self.log)
            if position < end:
                chunk = b"".join(self.log[position : min(end, position + 500)])
                conn.sendall(chunk)
                position = min(end, position + 500)
            else:
                time.sleep(0.005)
            if position >= self.total:
                conn.sendall(b'{"heartbeat": true}\n')
                time.sleep(0.5)


@dataclass
class Result:
    produced: int
    stored: int
    lost: int
    duplicated: int
    order_violations: int

    def line(self) -> str:
        return (f"faults: produced={self.produced} stored={self.stored} lost={self.lost} "
                f"duplicated={self.duplicated} order_violations={self.order_violations}")

    def __add__(self, other: Result) -> Result:
        return Result(*(a + b for a, b in zip(
            (self.produced, self.stored, self.lost, self.duplicated, self.order_violations),
            (other.produced, other.stored, other.lost, other.duplicated, other.order_violations), strict=True)))


class FaultLine:
    def __init__(self, workdir: Path, total: int, rate: float, seed: int = 1) -> None:
        self.plant = Plant(workdir)
        self.source = EventSource(total, rate, seed)
        self.total = total

    def start(self) -> None:
        self.plant.start_broker()
        self.plant.start_gateway()
        self.source.start()
        self.plant.start_agent(self._agent_config())
        self.plant.wait_agent_online("agent-faults")

    def _agent_config(self) -> Path:
        config = {
            "site": "fault-plant", "line": "line-f", "agent": "agent-faults",
            "mqtt": {"host": "127.0.0.1", "port": self.plant.broker.port, "keepalive_s": 5},
            # Holding readings up to 50 ms to batch them is safe here: the source position is committed
            # with the readings, so whatever a crash drops from memory is replayed by the sorter.
            "outbox": {"path": str(self.plant.workdir / "agent-faults-outbox.db"), "ack_timeout_s": 3,
                       "batch_size": 200, "window": 200, "batch_max_delay_s": 0.05},
            "lots": {"auto_open": False},
            "status_interval_s": 2,
            "devices": [{"name": "sorter", "type": "nir_events_tcp",
                         "port": {"url": f"socket://127.0.0.1:{self.source.port}", "no_data_timeout_s": 10}}],
        }
        path = self.plant.workdir / "agent-faults.yaml"
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        return path

    # -- faults ---------------------------------------------------------------------------------------
    def kill_broker(self, down_s: float = 1.0) -> None:
        self.plant.broker.kill()
        time.sleep(down_s)
        self.plant.broker.restart()

    def kill_gateway(self, down_s: float = 1.0) -> None:
        assert self.plant.gateway is not None
        self.plant.gateway.kill()
        time.sleep(down_s)
        self.plant.gateway.start()

    def kill_agent(self, down_s: float = 1.0) -> None:
        agent = self.plant.agents[0]
        agent.kill()
        time.sleep(down_s)
        agent.start()

    # -- verdict --------------------------------------------------------------------------------------
    def wait_complete(self, timeout: float) -> None:
        assert self.source.done.wait(timeout), "the source did not finish producing"
        db = self.plant.workdir / "gateway.db"
        outbox = self.plant.workdir / "agent-faults-outbox.db"

        seen: dict[str, int] = {}

        def settled() -> bool:
            with sqlite3.connect(db) as g, sqlite3.connect(outbox) as o:
                seen["stored"] = g.execute(
                    "SELECT COUNT(DISTINCT json_extract(data, '$.event_id')) FROM readings").fetchone()[0]
                seen["pending"] = o.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
            return seen["stored"] >= self.total and seen["pending"] == 0

        try:
            self.plant.wait_for(settled, timeout, "every produced event stored and the outbox drained")
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}; last seen {seen}") from None

    def result(self) -> Result:
        with sqlite3.connect(self.plant.workdir / "gateway.db") as g:
            ids = [row[0] for row in g.execute(
                "SELECT json_extract(data, '$.event_id') FROM readings WHERE device='sorter' ORDER BY device_seq")]
        distinct = set(ids)
        lost = len(set(range(self.total)) - distinct)
        violations = sum(1 for a, b in itertools.pairwise(ids) if b <= a)
        return Result(self.total, len(ids), lost, len(ids) - len(distinct), violations)

    def stop(self) -> None:
        self.plant.stop()
        self.source.stop()
