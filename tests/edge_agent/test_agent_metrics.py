"""The agent's /metrics: outbox depth, per-device frames and last-seen, publisher outcomes."""

from __future__ import annotations

import threading
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from edge_agent.app import run_agent
from edge_agent.config import load_config
from junkan.broker import free_port, wait_for_port
from simulators.pty_port import PtyPort
from simulators.scales.mt_sics import MtSicsDevice
from simulators.scales.platform import PlatformScale


def test_agent_serves_prometheus_metrics(mosquitto, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    port, metrics_port = PtyPort(), free_port()
    scale = PlatformScale(seed=2)
    scale.set(load_kg=50.0)
    stop = threading.Event()
    threading.Thread(target=MtSicsDevice(scale, port, noise_rate=0.3).serve, args=(stop,), daemon=True).start()
    config = {"site": "s", "line": "line-1", "agent": "agent-m", "metrics_port": metrics_port,
              "metrics_host": "127.0.0.2",  # configurable (a LAN address in production); not 127.0.0.1
              "mqtt": {"port": mosquitto.port}, "outbox": {"path": str(tmp_path / "o.db")},
              "lots": {"telemetry_interval_s": 0.2},
              "devices": [{"name": "scale-1", "type": "mt_sics", "port": {"url": port.path},
                           "poll_interval_s": 0.05}]}
    path = tmp_path / "agent.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    agent = threading.Thread(target=run_agent, args=(load_config(path), stop), daemon=True)
    agent.start()
    try:
        wait_for_port(metrics_port, host="127.0.0.2")
        time.sleep(1.5)
        text = urllib.request.urlopen(f"http://127.0.0.2:{metrics_port}/metrics", timeout=5).read().decode()
        with pytest.raises(OSError):  # bound to the configured address only
            urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=2)
    finally:
        stop.set()
        agent.join(10)
        port.close()
    values = {line.split(" ")[0]: float(line.split(" ")[1]) for line in text.splitlines()
              if line and not line.startswith("#")}
    assert values['junkan_agent_frames_total{device="scale-1",result="ok"}'] > 5
    assert values['junkan_agent_frames_total{device="scale-1",result="bad"}'] > 0  # injected noise counted
    assert values['junkan_agent_device_last_reading_timestamp_seconds{device="scale-1"}'] > time.time() - 60
    assert "junkan_agent_outbox_depth" in values
    assert values['junkan_agent_messages_total{outcome="published"}'] > 0  # weight telemetry went out
