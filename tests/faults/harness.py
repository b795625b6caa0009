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
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from junkan.plant import Plant

POLYMERS = ["PP", "PE", "PS", "ABS", "PET"]
GATEWAY_ARGS = ["--set", "ingest.stall_after_s=2"]  # /readyz 503 after 2 s of stalled ingest (production: 60)


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
    def __init__(self, workdir: Path, total: int, rate: float, seed: int = 1, db_url: str | None = None,
                 disk_cap: bool = False, kills_planned: int = 1) -> None:
        self.plant = Plant(workdir, db_url=db_url)
        self.source = EventSource(total, rate, seed)
        self.total = total
        self.pg = self.plant.db_url.startswith("postgres")
        # The event id inside a reading's data (JSON text): one expression per dialect.
        self._event_id = ("CAST(CAST(data AS json)->>'event_id' AS BIGINT)" if self.pg
                          else "json_extract(data, '$.event_id')")
        self._store: Any = None
        self.disk_cap, self.kills_planned = disk_cap, kills_planned
        self.outcome = Result(0, 0, 0, 0, 0)
        self.dead: list[str] = []
        self.stalls: list[float] = []  # per db_lock: worst /readyz status; per disk_full: commit failures seen
        self.poison_sent = 0
        self._last_body = ""

    def _rows(self, sql: str) -> list[dict[str, Any]]:
        """The gateway's store, read through its own code (SQLite or PostgreSQL alike)."""
        if self._store is None:
            from gateway.store import open_store

            self._store = open_store(self.plant.db_url)
        return self._store.db.rows(sql)

    def start(self) -> None:
        self.plant.start_broker()
        self.plant.start_gateway(GATEWAY_ARGS)
        if self.disk_cap:  # the disk fills up from the start: the cap one page above the empty store
            self._start_capped_gateway()
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

    def kill_db_lock(self, down_s: float = 3.0) -> None:
        """Another connection holds the store's write lock for ``down_s``: ingest stalls (nothing acked,
        /readyz 503 after its age), then drains."""
        if self.pg:
            import psycopg

            with psycopg.connect(self.plant.db_url) as conn:
                conn.execute("LOCK TABLE messages IN ACCESS EXCLUSIVE MODE")
                self._note_stall(down_s)
                conn.rollback()
            return
        conn = sqlite3.connect(self.plant.db_path, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            self._note_stall(down_s)
            conn.execute("ROLLBACK")
        finally:
            conn.close()

    def _start_capped_gateway(self) -> None:
        assert self.plant.gateway is not None
        with sqlite3.connect(self.plant.db_path) as probe:  # logical size (what max_page_count counts), WAL included
            size = probe.execute("PRAGMA page_count").fetchone()[0] * probe.execute("PRAGMA page_size").fetchone()[0]
        self.plant.gateway.kill()
        self.plant.start_gateway([*GATEWAY_ARGS,
                                  "--set", f"db_url=sqlite:///{self.plant.db_path}?max_bytes={size + 8 * 1024}"])

    def kill_disk_full(self, down_s: float = 3.0) -> None:
        """The store's disk is full (a SQLite size cap, ``?max_bytes=``, one page above its size, set at
        start with ``FaultLine(disk_cap=True)``): every commit fails as on a full disk; then space is freed
        (the gateway restarted without the cap) and everything held drains."""
        assert not self.pg and self.disk_cap, "the disk-full fault uses SQLite's size cap, set at start"
        assert self.plant.gateway is not None
        deadline = time.monotonic() + 30
        while self._metric("junkan_gateway_commit_failures_total") == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        self.stalls.append(self._metric("junkan_gateway_commit_failures_total"))
        time.sleep(down_s)
        self.plant.gateway.kill()  # space freed: the gateway runs again without the cap
        self.plant.start_gateway(GATEWAY_ARGS)
        if len(self.stalls) < self.kills_planned:
            self._start_capped_gateway()  # and fills up again for the next round

    def kill_poison(self, down_s: float = 0.0) -> None:
        """Hostile messages on the agent's own topic (past int64, nested 3000 deep, NaN, another agent
        named in the envelope) and a topic segment that is no name: each is dead-lettered, ingest goes on."""
        import paho.mqtt.client as mqtt

        from junkan.core.messages import dump
        from tests.security.fuzz_corpus import honest_reading

        topic = "junkan/v1/fault-plant/line-f/agent-faults/reading"
        good = json.loads(dump(honest_reading(1)).decode())
        good["agent"] = "agent-faults"
        payloads = [(topic, json.dumps({**good, "seq": 2**64}).encode()),
                    (topic, b"[" * 3000 + b"]" * 3000),
                    (topic, json.dumps({**good, "agent": "agent-other"}).encode()),
                    (topic, json.dumps(good).replace('"tare_kg": 30.0', '"tare_kg": NaN').encode()),
                    ("junkan/v1/fault-plant/line f/agent-faults/reading", json.dumps(good).encode())]
        client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        client.connect("127.0.0.1", self.plant.broker.port)
        client.loop_start()
        try:
            for t, payload in payloads:
                client.publish(t, payload, qos=1).wait_for_publish(10)
        finally:
            client.disconnect()
            client.loop_stop()
        self.poison_sent += len(payloads)
        time.sleep(down_s)

    def _note_stall(self, seconds: float) -> None:
        """Hold for ``seconds``, noting what /readyz said meanwhile (a stall beyond its age is a 503)."""
        deadline = time.monotonic() + seconds
        worst = 200
        while time.monotonic() < deadline:
            status = self._readyz()
            worst = max(worst, status)
            time.sleep(0.2)
        self.stalls.append(worst)

    def _readyz(self) -> int:
        try:
            with urllib.request.urlopen(f"{self.plant.api}/readyz", timeout=5) as response:
                self._last_body = response.read().decode()
                return int(response.status)
        except urllib.error.HTTPError as exc:
            self._last_body = exc.read().decode()
            return int(exc.code)
        except OSError:
            return 0

    def _metric(self, name: str) -> float:
        try:
            with urllib.request.urlopen(f"{self.plant.api}/metrics", timeout=5) as response:
                text = response.read().decode()
        except OSError:
            return 0.0
        return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " "))

    # -- verdict --------------------------------------------------------------------------------------
    def wait_complete(self, timeout: float) -> None:
        assert self.source.done.wait(timeout), "the source did not finish producing"
        outbox = self.plant.workdir / "agent-faults-outbox.db"

        seen: dict[str, int] = {}

        def settled() -> bool:
            seen["stored"] = int(self._rows(f"SELECT COUNT(DISTINCT {self._event_id}) AS n FROM readings")[0]["n"])
            with sqlite3.connect(outbox) as o:
                seen["pending"] = o.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
            return seen["stored"] >= self.total and seen["pending"] == 0

        try:
            self.plant.wait_for(settled, timeout, "every produced event stored and the outbox drained")
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}; last seen {seen}") from None

    def result(self) -> Result:
        ids = [int(row["e"]) for row in self._rows(
            f"SELECT {self._event_id} AS e FROM readings WHERE device='sorter' ORDER BY device_seq")]
        distinct = set(ids)
        lost = len(set(range(self.total)) - distinct)
        violations = sum(1 for a, b in itertools.pairwise(ids) if b <= a)
        return Result(self.total, len(ids), lost, len(ids) - len(distinct), violations)

    def dead_letters(self) -> list[str]:
        return [str(r["reason"]) for r in self._rows("SELECT reason FROM dead_letters")]

    def stop(self) -> None:
        if self._store is not None:
            self._store.close()
        self.plant.stop()
        self.source.stop()
