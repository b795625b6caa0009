"""The MT-SICS driver against the MT-SICS simulator on a real PTY, and against line noise."""

from __future__ import annotations

import threading
import time

import pytest

from edge_agent.drivers import mt_sics
from edge_agent.drivers.base import BadFrame, DeviceReading
from edge_agent.drivers.serial_port import SerialPortConfig
from simulators.pty_port import PtyPort
from simulators.scales.mt_sics import MtSicsDevice
from simulators.scales.platform import PlatformScale


def test_parser_status_letters() -> None:
    dec = mt_sics.decoder()
    out = dec.feed(b"S S     100.00 g\r\nS D   12,5 kg\r\nS +\r\nS -\r\nS I\r\nES\r\nET\r\nEL\r\n"
                   b'I4 A "B021002593"\r\nSI S 1.00 kg\r\nS S  1.0 PC\r\n\xff\xfe\r\n')
    weights = [r for r in out if isinstance(r, DeviceReading) and r.kind == "weight"]
    assert [(w.value, w.stable, w.status) for w in weights] == [
        (pytest.approx(0.1), True, "ok"), (pytest.approx(12.5), False, "unstable"),
        (None, False, "overload"), (None, False, "underload"), (None, False, "error"),
        (None, False, "error"), (None, False, "error"), (None, False, "error")]  # S I, then ES, ET, EL
    reasons = [w.data["reason"] for w in weights if w.value is None]
    assert "transmission error" in reasons[4] and reasons[3].startswith("device reported ES")
    bad = [r.reason for r in out if isinstance(r, BadFrame)]
    assert len(bad) == 3  # 'SI S' (wrong reply id), pieces unit, non-ASCII noise
    assert any("non-ASCII" in b for b in bad)


def test_partial_lines_wait_for_the_rest() -> None:
    dec = mt_sics.decoder()
    assert dec.feed(b"S S    10") == []
    (reading,) = dec.feed(b".00 kg\r\n")
    assert isinstance(reading, DeviceReading) and reading.value == 10.0


def run_runner(url: str, seconds: float, **port_kw):  # type: ignore[no-untyped-def]
    config = mt_sics.MtSicsConfig(type="mt_sics", name="s", port=SerialPortConfig(url=url, **port_kw),
                                  poll_interval_s=0.05)
    runner = mt_sics.runner(config)
    readings: list[DeviceReading] = []
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(readings.append, stop), daemon=True)
    thread.start()
    time.sleep(seconds)
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive()
    return runner, readings


def test_runner_reads_simulator_on_pty_and_counts_noise() -> None:
    scale = PlatformScale(seed=3)
    scale.set(load_kg=123.4, moving=False)
    port = PtyPort()
    stop = threading.Event()
    device = MtSicsDevice(scale, port, noise_rate=0.2, seed=3)
    threading.Thread(target=device.serve, args=(stop,), daemon=True).start()
    try:
        runner, readings = run_runner(port.path, 1.5)
    finally:
        stop.set()
        port.close()
    weights = [r for r in readings if r.kind == "weight" and r.status == "ok"]
    assert len(weights) > 5
    assert all(abs(w.value - 123.4) <= 0.1 for w in weights)  # type: ignore[operator]
    assert runner.counters.frames_bad > 0  # injected ET / garbage / cut lines were counted, not raised


def test_loop_echo_of_polls_is_counted_as_bad_frames() -> None:
    # loop:// echoes our own "SI" polls back: never a valid reply, so only bad frames and no readings.
    runner, readings = run_runner("loop://", 0.5)
    assert readings == []
    assert runner.counters.frames_bad > 0


def test_silent_device_on_tcp_is_reported_and_reopened() -> None:
    """An Ethernet indicator that accepts the connection but never answers."""
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    threading.Thread(target=accept, daemon=True).start()
    try:
        runner, readings = run_runner(f"socket://127.0.0.1:{server.getsockname()[1]}", 2.5, no_data_timeout_s=0.3)
    finally:
        stop.set()
        server.close()
    assert readings == []
    assert runner.counters.reconnects >= 2
    assert "no data" in (runner.counters.last_error or "")
    assert len(held) >= 2  # it really reconnected
