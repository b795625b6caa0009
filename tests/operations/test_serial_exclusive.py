"""A serial port another process holds is never read shared: the device is unavailable, with an alarm
naming the holder, and recovers when the port is released.

The second reader is a real process that flock()s the PTY slave and polls the simulated MT-SICS scale
itself, so there IS data on the line to steal; the agent's runner must not get any of it.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from edge_agent.app import build_status
from edge_agent.config import load_config
from edge_agent.core import AgentCore
from edge_agent.drivers import DRIVERS
from edge_agent.drivers.serial_port import SerialPortConfig, SerialRunner
from edge_agent.publishing.outbox import SqliteOutbox
from junkan.core.ids import new_id
from junkan.core.topics import AgentTopics
from simulators.pty_port import PtyPort
from simulators.scales.mt_sics import MtSicsDevice
from simulators.scales.platform import PlatformScale
from tests.devices.runner_thread import wait_until

REPO = Path(__file__).resolve().parents[2]
# Holds the port (flock, as pyserial's exclusive open and other junkan agents do), polls the scale and
# reads its answers until its stdin closes; then prints how many bytes it took off the line.
HOLDER = r"""
import fcntl, os, select, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_NOCTTY)
fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
print("locked", flush=True)
got = 0
while True:
    ready, _, _ = select.select([fd, sys.stdin], [], [], 0.1)
    if sys.stdin in ready and not sys.stdin.readline():
        break
    if fd in ready:
        got += len(os.read(fd, 4096))
    os.write(fd, b"SI\r\n")
print(got, flush=True)
"""


def test_port_held_by_another_process_is_unavailable_never_shared_then_recovers(tmp_path: Path) -> None:
    port, stop = PtyPort(), threading.Event()
    scale = PlatformScale(seed=3)
    scale.set(load_kg=123.4)
    threading.Thread(target=MtSicsDevice(scale, port).serve, args=(stop,), daemon=True).start()
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, port.path], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    config = load_config(REPO / "firmware_configs/lines/demo_line.yaml",
                         {"devices.0.port.url": port.path, "outbox.path": str(tmp_path / "o.db")})
    device = config.devices[0]
    runner = DRIVERS[device.type].runner(device, None)
    got: list[Any] = []
    thread = threading.Thread(target=runner.run, args=(got.append, stop), daemon=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        thread.start()
        wait_until(lambda: runner.counters.alarm is not None, 5, "alarm raised")
        time.sleep(2.0)  # several retries while the other process polls the scale and reads its answers
        assert got == []  # not one frame from the shared line, so no weighing either
        assert runner.counters.state(device.stale_after_s) == "unavailable"
        alarm = runner.counters.alarm or ""
        assert f"pid {holder.pid}" in alarm and "python" in alarm and port.path in alarm
        core = AgentCore(config, SqliteOutbox(tmp_path / "o.db"), AgentTopics("s", "line-1", "a"), new_id())
        status = build_status(config, core.topics, core.session, "online", {device.name: runner}, core, core.outbox)
        assert status.devices[0].state == "unavailable"
        assert any(a.startswith(f"{device.name}: ") and f"pid {holder.pid}" in a for a in status.alarms)

        assert holder.stdin is not None
        holder.stdin.close()  # the other process lets go of the port
        stolen = int(holder.stdout.readline())
        holder.wait(5)
        assert stolen > 0  # there was data on the line the whole time
        wait_until(lambda: len(got) >= 5, 20, "readings after the port was released")
        assert runner.counters.alarm is None and runner.counters.state(device.stale_after_s) == "alive"
        assert all(r.kind == "weight" and r.value == pytest.approx(123.4, abs=0.1) for r in got)
    finally:
        stop.set()
        thread.join(5) if thread.is_alive() else None
        if holder.poll() is None:
            holder.kill()
        port.close()


def test_enumerated_port_names_are_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="junkan.drivers"):
        SerialRunner(SerialPortConfig(url="/dev/ttyUSB0"), decoder_factory=None)
        SerialRunner(SerialPortConfig(url="/dev/serial/by-id/usb-FTDI_FT232R_A10KXYZ-if00-port0"),
                     decoder_factory=None)
    warned = [r.getMessage() for r in caplog.records if "by-id" in r.getMessage()]
    assert len(warned) == 1 and warned[0].startswith("/dev/ttyUSB0")
