"""A driver's runner in a thread, as the agent's device thread runs it, and waiting on what it emits: the
driver tests' one copy (Modbus, TCP, MQTT sources, serial ports)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from edge_agent.drivers.base import DeviceReading


def wait_until(predicate: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class RunnerThread:
    """``with RunnerThread(runner) as running:`` runs it until the block ends; ``running.readings`` is what
    it emitted so far."""

    def __init__(self, runner: Any, join_s: float = 10.0) -> None:
        self.runner, self.join_s = runner, join_s
        self.readings: list[DeviceReading] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=runner.run, args=(self.readings.append, self.stop), daemon=True)

    def __enter__(self) -> RunnerThread:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(self.join_s)
