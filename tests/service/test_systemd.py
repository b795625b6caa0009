"""Running as a systemd service: the unit files, and sd_notify heartbeats that come from the main loop.

The agent runs as a real process under a notify socket this test binds (what systemd does for Type=notify):
READY=1, then WATCHDOG=1 every WATCHDOG_USEC/2; when the core loop is blocked (a test hook in a wrapper
script patches ``AgentCore._drain`` to hang while a flag file exists, as a stuck disk write would) the pings
stop, while the process is visibly alive (its publisher thread keeps sending status over MQTT); they come
back when the loop is released, and SIGTERM ends with STOPPING=1. systemctl is never run.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import yaml

from junkan.broker import Mosquitto, free_port
from junkan.core.systemd import Notifier

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = tmp_path / "notify.sock"
    sock.bind(str(path))
    sock.settimeout(0.05)
    yield sock, str(path)
    sock.close()


def received(sock: socket.socket, seconds: float) -> list[tuple[float, str]]:
    """(time, line) of every notification line within ``seconds``."""
    out: list[tuple[float, str]] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            data = sock.recv(4096)
        except TimeoutError:
            continue
        out += [(time.monotonic(), line) for line in data.decode().splitlines()]
    return out


def pings(lines: list[tuple[float, str]]) -> list[float]:
    return [t for t, line in lines if line == "WATCHDOG=1"]


# -- the notifier ---------------------------------------------------------------------------------


def test_notifier_path_and_abstract_sockets(notify_socket: tuple[socket.socket, str]) -> None:
    sock, path = notify_socket
    n = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "200000"})
    n.ready("up")
    n.watchdog()  # within the half interval of the ping ready() sent: not repeated
    time.sleep(0.12)
    n.watchdog()
    n.stopping()
    assert [line for _, line in received(sock, 0.3)] == ["READY=1", "STATUS=up", "WATCHDOG=1", "WATCHDOG=1",
                                                         "STOPPING=1"]
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    name = f"junkan-test-{os.getpid()}"
    abstract.bind("\0" + name)
    abstract.settimeout(1)
    Notifier({"NOTIFY_SOCKET": "@" + name}).ready()
    assert abstract.recv(100) == b"READY=1"
    abstract.close()


def test_notifier_is_a_no_op_outside_systemd_and_for_another_pid() -> None:
    assert not Notifier({}).enabled and Notifier({}).send("READY=1") is False
    other = Notifier({"NOTIFY_SOCKET": "/nonexistent", "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"})
    assert other.watchdog_s is None  # the watchdog is meant for PID 1, not us
    Notifier({"NOTIFY_SOCKET": "/nonexistent/socket"}).ready()  # a vanished socket never raises


# -- the agent under a notify socket ------------------------------------------------------------

WRAPPER = textwrap.dedent("""
    import pathlib, sys, time
    from edge_agent import core
    flag = pathlib.Path(sys.argv[1])
    drain = core.AgentCore._drain
    def hanging_drain(self, timeout):
        while flag.exists():  # test hook: the core loop hangs
            time.sleep(0.05)
        return drain(self, timeout)
    core.AgentCore._drain = hanging_drain
    from junkan.cli import main
    sys.exit(main(sys.argv[2:]))
""")


def agent_config(tmp_path: Path, broker: Mosquitto) -> Path:
    config = {
        "site": "s1", "line": "l1", "agent": "a1",
        "mqtt": {"host": "127.0.0.1", "port": broker.port},
        "outbox": {"path": str(tmp_path / "outbox.db")},
        "status_interval_s": 0.3,
        "devices": [{"name": "plc", "type": "opcua", "endpoint": f"opc.tcp://127.0.0.1:{free_port()}/",
                     "channels": [{"name": "w", "node": "ns=2;s=W", "kind": "weight"}]}],
    }
    path = tmp_path / "agent.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def test_blocked_agent_main_loop_stops_the_watchdog_pings(tmp_path: Path, mosquitto: Mosquitto,
                                                          notify_socket: tuple[socket.socket, str]) -> None:
    sock, path = notify_socket
    flag = tmp_path / "block"
    status: list[float] = []
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    sub.on_message = lambda *_a: status.append(time.monotonic())
    sub.connect("127.0.0.1", mosquitto.port)
    sub.subscribe("junkan/v1/s1/l1/a1/status")
    sub.loop_start()
    env = {**os.environ, "NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", WRAPPER, str(flag), "agent", "run", "--config",
                             str(agent_config(tmp_path, mosquitto))], env=env, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        start = received(sock, 8.0)
        assert "READY=1" in [line for _, line in start], start
        healthy = received(sock, 1.5)
        assert len(pings(healthy)) >= 5, healthy  # every 0.2 s (WATCHDOG_USEC/2)

        flag.touch()  # the main loop hangs from its next turn
        received(sock, 1.0)  # drain: the turn in progress (slow under load) may still ping once
        status.clear()
        blocked = received(sock, 2.0)
        assert pings(blocked) == [], f"pings while the main loop was blocked: {blocked}"
        assert proc.poll() is None and len(status) >= 3  # the process and its other threads are alive

        flag.unlink()
        assert len(pings(received(sock, 1.0))) >= 3  # released: pings again

        proc.send_signal(signal.SIGTERM)
        assert "STOPPING=1" in [line for _, line in received(sock, 5.0)]
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        sub.loop_stop()


def test_gateway_is_ready_once_listening_and_its_ingest_loop_pings(tmp_path: Path, mosquitto: Mosquitto,
                                                                   notify_socket: tuple[socket.socket, str]) -> None:
    sock, path = notify_socket
    settings = tmp_path / "gateway.yaml"
    settings.write_text(yaml.safe_dump({"db_url": f"sqlite:///{tmp_path / 'gw.db'}",
                                        "mqtt": {"host": "127.0.0.1", "port": mosquitto.port},
                                        "api": {"host": "127.0.0.1", "port": free_port()}}), encoding="utf-8")
    env = {**os.environ, "NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "junkan.cli", "gateway", "serve", "--config", str(settings)],
                            env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        lines = received(sock, 10.0)
        assert "READY=1" in [line for _, line in lines], lines
        assert len(pings(received(sock, 1.5))) >= 5
        proc.send_signal(signal.SIGTERM)
        assert "STOPPING=1" in [line for _, line in received(sock, 8.0)]
        assert proc.wait(timeout=15) == 0  # ends by itself after finishing ingest, not killed by the signal
    finally:
        if proc.poll() is None:
            proc.kill()


# -- unit files ---------------------------------------------------------------------------------


@pytest.fixture
def units(tmp_path: Path, mosquitto: Mosquitto, capsys: pytest.CaptureFixture[str]) -> dict[str, Path]:
    from junkan.cli import main

    agent_cfg = agent_config(tmp_path, mosquitto)
    cfg = yaml.safe_load(agent_cfg.read_text())
    cfg["outbox"]["path"] = "agent-outbox.db"  # relative: lands in WorkingDirectory=/var/lib/junkan
    agent_cfg.write_text(yaml.safe_dump(cfg))
    gw = tmp_path / "gateway.yaml"
    gw.write_text(yaml.safe_dump({"db_url": "sqlite:///var/lib/junkan/gateway.db"}))
    dest = tmp_path / "units"
    assert main(["agent", "install-service", "--config", str(agent_cfg), "--dest", str(dest)]) == 0
    assert main(["gateway", "install-service", "--config", str(gw), "--dest", str(dest), "--watchdog-sec", "20"]) == 0
    out = capsys.readouterr().out
    assert f"wrote {dest / 'junkan-agent.service'}" in out and f"wrote {dest / 'junkan-gateway.service'}" in out
    return {"agent": dest / "junkan-agent.service", "gateway": dest / "junkan-gateway.service"}


def settings_of(unit: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in unit.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out.setdefault(key, []).append(value)
    return out


@pytest.mark.parametrize("role", ["agent", "gateway"])
def test_unit_file_is_a_hardened_notify_service(units: dict[str, Path], role: str) -> None:
    s = settings_of(units[role])
    assert s["Type"] == ["notify"] and s["Restart"] == ["always"]
    assert s["WatchdogSec"] == (["30"] if role == "agent" else ["20"])
    assert s["User"] == ["junkan"] and s["StateDirectory"] == ["junkan"]
    assert s["ProtectSystem"] == ["strict"] and s["ReadWritePaths"] == ["/var/lib/junkan"]
    assert s["StandardOutput"] == ["journal"] and s["StandardError"] == ["journal"]
    assert s["ExecStart"][0].startswith(f"{sys.executable} -m junkan.cli {role} ")
    assert "--config /" in s["ExecStart"][0]  # absolute: the service does not start in this directory


@pytest.mark.parametrize("role", ["agent", "gateway"])
def test_unit_file_passes_systemd_analyze_verify(units: dict[str, Path], role: str) -> None:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    done = subprocess.run([tool, "verify", str(units[role])], capture_output=True, text=True, timeout=60)
    complaints = [line for line in (done.stdout + done.stderr).splitlines()
                  if units[role].name in line or "ignoring" in line.lower() or "unknown" in line.lower()]
    assert done.returncode == 0 and not complaints, done.stdout + done.stderr


def test_install_service_refuses_state_outside_the_state_dir(tmp_path: Path, mosquitto: Mosquitto,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    from junkan.cli import main

    cfg = agent_config(tmp_path, mosquitto)  # outbox.path under tmp_path: read-only under ProtectSystem=strict
    assert main(["agent", "install-service", "--config", str(cfg), "--dest", str(tmp_path / "u")]) == 2
    assert "ProtectSystem=strict" in capsys.readouterr().err and not (tmp_path / "u").exists()
