"""Capture a live session, play it back with `junkan sim replay`, decode it: the same readings.

Live: Toledo continuous simulator on a PTY -> SerialRunner with capture on. Replay: the real CLI
(`junkan sim replay FILE --speed 4`) on a new PTY -> a fresh SerialRunner. Offline: `junkan agent
decode` on the capture file. All three must give the same reading list.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from edge_agent.commands.decode import decode_bytes, read_capture
from edge_agent.drivers import toledo_continuous
from edge_agent.drivers.base import DeviceReading
from simulators.pty_port import PtyPort
from simulators.scales.devices import make_device
from simulators.scales.platform import PlatformScale


def collect(url: str, seconds_or_until, capture: Path | None = None):  # type: ignore[no-untyped-def]
    config = toledo_continuous.ToledoContinuousConfig.model_validate(
        {"name": "floor", "type": "toledo_continuous", "port": {"url": url}})
    runner = toledo_continuous.runner(config, capture)
    got: list[DeviceReading] = []
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(got.append, stop), daemon=True)
    thread.start()
    return runner, got, stop, thread


def test_replayed_capture_gives_the_live_readings(tmp_path: Path) -> None:
    capture = tmp_path / "floor.capture.jsonl"
    port = PtyPort()
    scale = PlatformScale(seed=11)
    device = make_device("toledo", scale, port, noise_rate=0.1, seed=3, interval_s=0.02)
    sim_stop = threading.Event()
    threading.Thread(target=device.serve, args=(sim_stop,), daemon=True).start()
    runner, live, stop, thread = collect(port.path, None, capture)
    for load, moving in [(0.0, False), (30.0, True), (31.5, False), (140.2, True), (171.7, False), (0.0, False)]:
        scale.set(load_kg=load, moving=moving)
        time.sleep(0.25)
    stop.set()
    thread.join(timeout=5)
    sim_stop.set()
    port.close()
    assert len(live) > 30 and runner.counters.frames_bad > 0  # the noise is part of the recording

    proc = subprocess.Popen([sys.executable, "-m", "junkan.cli", "sim", "replay", str(capture), "--speed", "4",
                             "--wait", "1.5"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        pty_path = proc.stdout.readline().strip()
        assert pty_path.startswith("/dev/pts/"), pty_path
        replay_runner, replayed, stop2, thread2 = collect(pty_path, None)
        assert proc.wait(timeout=30) == 0, proc.stderr.read() if proc.stderr else ""
    finally:
        if proc.poll() is None:
            proc.kill()
    time.sleep(0.2)
    stop2.set()
    thread2.join(timeout=5)
    assert [r.as_json() for r in replayed] == [r.as_json() for r in live]
    assert replay_runner.counters.frames_bad == runner.counters.frames_bad

    offline = decode_bytes("toledo_continuous", read_capture(capture))  # what `junkan agent decode` runs
    assert [r.as_json() for r in offline if isinstance(r, DeviceReading)] == [r.as_json() for r in live]
