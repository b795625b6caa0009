"""Helpers for the MQTT-source drivers' tests: a simulator's own venv, a driver running in a thread."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from edge_agent.drivers.base import DeviceReading
from edge_agent.lots.weighing import WeighingDetector
from tests.devices.runner_thread import RunnerThread, wait_until

ROOT = Path(__file__).resolve().parents[2]


def sim_venv(name: str, requirement: str, probe: str) -> Path:
    """``ROOT/.venv-<name>`` with ``requirement`` (what ``make .venv-<name>`` builds); built here when
    missing. Skipped with the reason only when the package registry cannot be reached."""
    venv = ROOT / f".venv-{name}"
    python = venv / "bin" / "python"
    stamp = venv / ".installed"
    # Parallel workers (pytest -n) may both find it missing: one builds it, the others wait on the lock.
    with open(ROOT / f".venv-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not stamp.exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            pip = subprocess.run([str(python), "-m", "pip", "install", "-q", requirement], capture_output=True,
                                 text=True)
            if pip.returncode != 0:
                pytest.skip(f"cannot install {requirement} into {venv.name} (registry unreachable?): "
                            f"{pip.stderr[-300:]}")
            stamp.touch()
    check = subprocess.run([str(python), "-c", f"import {probe}"], capture_output=True, text=True)
    assert check.returncode == 0, f"{venv.name} is broken: {check.stderr[-300:]}"
    return python


def run_module(python: Path, module: str, *args: str, **kw: Any) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([str(python), "-m", module, *args], env=env, text=True, **kw)


class DriverThread(RunnerThread):
    """A driver's runner in a thread, entered once it has connected (or heard from the device)."""

    def __init__(self, runner: Any) -> None:
        super().__init__(runner, join_s=5.0)

    def __enter__(self) -> DriverThread:
        super().__enter__()
        wait_until(lambda: self.runner.counters.connected or self.runner.source.online is not None, 10,
                   "the driver to connect")
        return self

    def kinds(self, kind: str) -> list[DeviceReading]:
        return [r for r in list(self.readings) if r.kind == kind]

    def events(self, name: str) -> list[DeviceReading]:
        return [r for r in self.kinds("source_event") if r.data.get("event") == name]


def weighings(readings: list[DeviceReading], division_kg: float = 0.02, stable_frames: int = 1) -> list[float]:
    """Net masses the agent's weighing detector makes of these weight readings."""
    detector = WeighingDetector("scale", division_kg, stable_frames, 0.5)
    out = []
    for r in readings:
        if r.kind == "weight":
            w = detector.feed(r.ts or time_now(), r.value, bool(r.stable), r.status)
            if w is not None:
                out.append(w.net_kg)
    return out


def time_now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)
