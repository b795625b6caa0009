"""Simulator -> agent -> real Mosquitto -> gateway -> REST, with the processes the demo runs.

The lots the gateway stored must equal the simulator's truth, and every message must be stored exactly
once — also when the broker is killed with SIGKILL mid-run and restarted. The gateway's store is the
--gateway-db backend (SQLite file or a PostgreSQL database).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from gateway.store import open_store
from junkan.plant import Plant
from simulators.commands.scale import rest_operator
from simulators.pty_port import PtyPort
from simulators.scales.mt_sics import MtSicsDevice
from simulators.scales.platform import ContainerScenario, PlatformScale

pytestmark = pytest.mark.integration
FAST = {"devices.0.poll_interval_s": 0.05, "outbox.ack_timeout_s": 2, "status_interval_s": 1}


class Line:
    """A plant with one MT-SICS scale, its scenario running in a thread."""

    def __init__(self, workdir: Path, db_url: str, lots: int, speed: float = 2.5, seed: int = 7,
                 overrides: dict[str, object] | None = None) -> None:
        self.plant = Plant(workdir, db_url=db_url)
        self.overrides = {**FAST, **(overrides or {})}
        self.port = PtyPort()
        self.scale = PlatformScale(seed=seed)
        self.scenario = ContainerScenario(line="line-1", lots=lots, speed=speed, seed=seed)
        self.done = threading.Event()

    def start(self) -> None:
        plant = self.plant
        plant.start_broker()
        plant.start_gateway()
        threading.Thread(target=MtSicsDevice(self.scale, self.port).serve, args=(plant.stop_event,),
                         daemon=True).start()
        plant.start_agent(plant.agent_config({"scale-pp": self.port.path}, overrides=self.overrides))
        plant.wait_agent_online("agent-line-1")

        def play() -> None:
            self.scenario.run(self.scale, plant.stop_event, rest_operator(plant.api, "line-1"),
                              plant.workdir / "truth.jsonl")
            self.done.set()

        threading.Thread(target=play, daemon=True).start()

    def finish(self, timeout: float = 120) -> list[dict]:  # type: ignore[type-arg]
        assert self.done.wait(timeout), "scenario did not finish"
        truth_ids = {t["lot_id"] for t in self.scenario.truth}
        self.plant.wait_for(lambda: truth_ids <= {lot["lot_id"] for lot in
                                                  self.plant.get("/api/v1/lots?status=closed&limit=1000")},
                            60, "all truth lots closed at the gateway")
        outbox = self.plant.workdir / "agent-line-1-outbox.db"
        if self.overrides.get("outbox.commit_interval_s"):  # acked rows leave with the next commit's new rows
            self.plant.wait_for(lambda: self._kept_rows_stored(outbox), 30, "every kept outbox row stored")
        else:
            self.plant.wait_for(lambda: sqlite3.connect(outbox).execute("SELECT COUNT(*) FROM outbox"
                                                                        ).fetchone()[0] == 0,
                                30, "agent outbox drained (every message acked)")
        return self.plant.get("/api/v1/lots?limit=1000")

    def _kept_rows_stored(self, outbox: Path) -> bool:
        kept = {r[0] for r in sqlite3.connect(outbox).execute("SELECT seq FROM outbox")}
        store = open_store(self.plant.db_url)
        try:
            stored = {r["seq"] for r in store.db.rows("SELECT seq FROM messages WHERE agent = ?", ("agent-line-1",))}
        finally:
            store.close()
        return kept <= stored

    def stop(self) -> None:
        self.plant.stop()
        self.port.close()


def assert_lots_match_truth(stored: list[dict], truth: list[dict]) -> None:  # type: ignore[type-arg]
    by_id = {lot["lot_id"]: lot for lot in stored}
    assert len(by_id) == len(stored), "duplicate lots"
    for t in truth:
        lot = by_id[t["lot_id"]]
        assert lot["status"] == "closed"
        assert lot["n_weighings"] == t["n_containers"]
        assert abs(lot["net_mass_kg"] - t["net_mass_kg"]) <= 0.001 * t["net_mass_kg"], (lot, t)


def assert_exactly_once(workdir: Path, db_url: str) -> None:
    """Every sequence number the agent assigned is stored once; per-device counters have no gap or repeat."""
    outbox = sqlite3.connect(workdir / "agent-line-1-outbox.db")
    last_seq = json.loads(outbox.execute("SELECT value FROM state WHERE key='seq'").fetchone()[0])
    store = open_store(db_url)
    try:
        db = store.db
        seqs = [r["seq"] for r in db.rows("SELECT seq FROM messages WHERE agent = ? ORDER BY seq", ("agent-line-1",))]
        assert seqs == list(range(1, last_seq + 1)), "lost or duplicated messages"
        for r in db.rows("SELECT device, COUNT(*) AS n, MIN(device_seq) AS lo, MAX(device_seq) AS hi FROM readings "
                         "GROUP BY device"):
            assert (r["lo"], r["hi"]) == (0, r["n"] - 1), f"{r['device']}: readings lost or duplicated"
        assert store.counts()["dead_letters"] == 0
    finally:
        store.close()


def test_lots_arrive_once_and_match_truth(tmp_path: Path, gateway_db_url: str) -> None:
    line = Line(tmp_path, gateway_db_url, lots=2)
    try:
        line.start()
        stored = line.finish()
        lot = line.plant.get(f"/api/v1/lots/{line.scenario.truth[0]['lot_id']}")
        assert len(lot["weighings"]) == line.scenario.truth[0]["n_containers"]
        devices = line.plant.get("/api/v1/devices")
        assert devices[0]["device"] == "scale-pp" and devices[0]["frames_ok"] > 0
    finally:
        line.stop()
    assert_lots_match_truth(stored, line.scenario.truth)
    assert_exactly_once(tmp_path, gateway_db_url)
    export = subprocess.run([sys.executable, "-m", "junkan.cli", "gateway", "export", "--db",
                             gateway_db_url, "lots"], capture_output=True, text=True, check=True)
    exported = [json.loads(line) for line in export.stdout.splitlines()]
    assert {e["lot_id"] for e in exported} == {s["lot_id"] for s in stored}
    assert all({"lot_id", "net_mass_kg", "status", "opened_at", "closed_at"} <= e.keys() for e in exported)


def run_through_broker_kills(line: Line, kills: int) -> list[dict]:  # type: ignore[type-arg]
    """Run the line, SIGKILL the broker ``kills`` times mid-run (no persistence: in-flight and queued
    messages are gone), and return the lots the gateway stored."""
    try:
        line.start()
        for _ in range(kills):
            time.sleep(4)
            line.plant.broker.kill()
            time.sleep(1.5)
            line.plant.broker.restart()
        return line.finish()
    finally:
        line.stop()


# The two broker-kill runs test the agent's outbox and the broker session (what the agent resends), so they
# run on SQLite only: the gateway's dedup of redelivered messages on PostgreSQL is tested by the fault suite's
# gateway SIGKILL and held-lock runs on both stores (tests/faults, in make test).
def _sqlite_store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'gateway.db'}"


def test_broker_killed_mid_run_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    db_url = _sqlite_store(tmp_path)
    line = Line(tmp_path, db_url, lots=3, seed=11)
    stored = run_through_broker_kills(line, kills=2)
    assert_lots_match_truth(stored, line.scenario.truth)
    assert_exactly_once(tmp_path, db_url)


def test_group_commit_loses_and_duplicates_nothing_through_a_broker_kill(tmp_path: Path) -> None:
    """The SD-card profile (``outbox.commit_interval_s``): readings wait in memory, are sent only once
    committed; lots still equal truth and every number is stored exactly once."""
    db_url = _sqlite_store(tmp_path)
    line = Line(tmp_path, db_url, lots=2, seed=5, overrides={"outbox.commit_interval_s": 2})
    stored = run_through_broker_kills(line, kills=1)
    assert_lots_match_truth(stored, line.scenario.truth)
    assert_exactly_once(tmp_path, db_url)
