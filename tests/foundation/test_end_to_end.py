"""Simulator -> agent -> real Mosquitto -> gateway -> REST, with the processes the demo runs.

The lots the gateway stored must equal the simulator's truth, and every message must be stored exactly
once — also when the broker is killed with SIGKILL mid-run and restarted.
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

from junkan.plant import Plant
from simulators.commands.scale import rest_operator
from simulators.pty_port import PtyPort
from simulators.scales.mt_sics import MtSicsDevice
from simulators.scales.platform import ContainerScenario, PlatformScale

pytestmark = pytest.mark.integration
FAST = {"devices.0.poll_interval_s": 0.05, "outbox.ack_timeout_s": 2, "status_interval_s": 1}


class Line:
    """A plant with one MT-SICS scale, its scenario running in a thread."""

    def __init__(self, workdir: Path, lots: int, speed: float = 2.5, seed: int = 7) -> None:
        self.plant = Plant(workdir)
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
        plant.start_agent(plant.agent_config({"scale-pp": self.port.path}, overrides=FAST))
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
        self.plant.wait_for(lambda: sqlite3.connect(outbox).execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0,
                            30, "agent outbox drained (every message acked)")
        return self.plant.get("/api/v1/lots?limit=1000")

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


def assert_exactly_once(workdir: Path) -> None:
    """Every sequence number the agent assigned is stored once; per-device counters have no gap or repeat."""
    outbox = sqlite3.connect(workdir / "agent-line-1-outbox.db")
    last_seq = json.loads(outbox.execute("SELECT value FROM state WHERE key='seq'").fetchone()[0])
    db = sqlite3.connect(workdir / "gateway.db")
    seqs = [row[0] for row in db.execute("SELECT seq FROM messages WHERE agent='agent-line-1' ORDER BY seq")]
    assert seqs == list(range(1, last_seq + 1)), "lost or duplicated messages"
    for device, n, lo, hi in db.execute(
            "SELECT device, COUNT(*), MIN(device_seq), MAX(device_seq) FROM readings GROUP BY device"):
        assert (lo, hi) == (0, n - 1), f"{device}: readings lost or duplicated"
    assert db.execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0] == 0


def test_lots_arrive_once_and_match_truth(tmp_path: Path) -> None:
    line = Line(tmp_path, lots=2)
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
    assert_exactly_once(tmp_path)
    export = subprocess.run([sys.executable, "-m", "junkan.cli", "gateway", "export", "--db",
                             str(tmp_path / "gateway.db"), "lots"], capture_output=True, text=True, check=True)
    exported = [json.loads(line) for line in export.stdout.splitlines()]
    assert {e["lot_id"] for e in exported} == {s["lot_id"] for s in stored}
    assert all({"lot_id", "net_mass_kg", "status", "opened_at", "closed_at"} <= e.keys() for e in exported)


def test_broker_killed_mid_run_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    line = Line(tmp_path, lots=3, seed=11)
    try:
        line.start()
        for _ in range(2):
            time.sleep(4)
            line.plant.broker.kill()  # SIGKILL, no persistence: in-flight and queued messages are gone
            time.sleep(1.5)
            line.plant.broker.restart()
        stored = line.finish()
    finally:
        line.stop()
    assert_lots_match_truth(stored, line.scenario.truth)
    assert_exactly_once(tmp_path)
