"""ESPHome: the YAMLs pass `esphome config` (in its own venv), and the node's MQTT traffic, simulated from
ESPHome's documented layout, feeds the `esphome_mqtt` driver through a real Mosquitto (death and reboot
mid-container included)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edge_agent.drivers.esphome_mqtt import EsphomeMqttConfig, EsphomeSession, example_config, runner
from junkan.broker import Mosquitto
from tests.devices.mqtt_sources import ROOT, DriverThread, run_module, sim_venv, weighings
from tests.devices.runner_thread import wait_until

ESPHOME_DIR = ROOT / "firmware_configs" / "esphome"
CONFIGS = sorted(p for p in ESPHOME_DIR.glob("*.yaml") if not p.name.startswith("secrets"))
ESPHOME = "esphome==2026.6.5"  # the version `make .venv-esphome` installs


@pytest.fixture(scope="module")
def esphome_python() -> Path:
    return sim_venv("esphome", ESPHOME, "esphome")


def esphome_config(python: Path, workdir: Path, name: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(python.parent / "esphome"), "config", name], cwd=workdir, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """The configs beside the example secrets, as a user would have them."""
    for p in CONFIGS:
        shutil.copy(p, tmp_path / p.name)
    shutil.copy(ESPHOME_DIR / "secrets.example.yaml", tmp_path / "secrets.yaml")
    return tmp_path


def test_configs_exist() -> None:
    assert {p.name for p in CONFIGS} >= {"platform_scale.yaml", "sensor_node.yaml"}
    assert all(p.read_text().lstrip().startswith("#") for p in CONFIGS), "explain each node in comments first"


@pytest.mark.parametrize("config", [p.name for p in CONFIGS])
def test_esphome_config_passes(esphome_python: Path, workdir: Path, config: str) -> None:
    result = esphome_config(esphome_python, workdir, config)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Configuration is valid!" in result.stdout + result.stderr


def test_esphome_config_rejects_a_broken_scale(esphome_python: Path, workdir: Path) -> None:
    """The validator is really validating: an HX711 gain it does not have fails."""
    path = workdir / "platform_scale.yaml"
    path.write_text(path.read_text().replace("gain: 128", "gain: 100"))
    result = esphome_config(esphome_python, workdir, "platform_scale.yaml")
    assert result.returncode != 0 and "gain" in result.stdout + result.stderr


def test_scale_topics_are_what_the_driver_reads(esphome_python: Path, workdir: Path) -> None:
    """ESPHome's expanded config: birth/will on <prefix>/status, and entity names whose object ids are the
    ones firmware_configs/devices/esphome_mqtt.example.yaml maps."""
    out = esphome_config(esphome_python, workdir, "platform_scale.yaml").stdout
    prefix = example_config().topic_prefix
    assert f"topic_prefix: {prefix}" in out
    for message, payload in (("birth_message", "online"), ("will_message", "offline")):
        block = out[out.index(f"  {message}:"):][:200]
        assert f"topic: {prefix}/status" in block and f"payload: {payload}" in block and "retain: true" in block
    names = re.findall(r"^    name: (.+)$", out, re.M)
    object_ids = {re.sub(r"[^a-z0-9_]", "", n.strip().lower().replace(" ", "_")) for n in names}
    assert {e.entity.split("/")[1] for e in example_config().entities} <= object_ids
    assert "api:" not in out, "an MQTT-only node must not have api: (it reboots every 15 min without a client)"


def sim(broker: Mosquitto, tmp: Path, *args: str) -> subprocess.Popen[str]:
    return run_module(Path(sys.executable), "simulators.esphome_mqtt", "run", "--port", str(broker.port),
                      "--state", str(tmp / "node-state.json"), "--truth", str(tmp / "truth.jsonl"),
                      "--containers", "20:480.5,22.5:505.25,18.75:333.3", *args)


def truth(tmp: Path) -> list[float]:
    return [json.loads(line)["net_kg"] for line in (tmp / "truth.jsonl").read_text().splitlines()]


def config(broker: Mosquitto) -> EsphomeMqttConfig:
    data = example_config().model_dump(exclude_none=True)
    return EsphomeMqttConfig.model_validate({**data, "broker": {"host": "127.0.0.1", "port": broker.port}})


@pytest.mark.integration
def test_node_feeds_weighings_and_survives_a_power_cut(mosquitto: Mosquitto, tmp_path: Path) -> None:
    with DriverThread(runner(config(mosquitto))) as drv:
        first = sim(mosquitto, tmp_path, "--die-at", "60")  # 2nd container full on the platform
        assert first.wait(30) == 3
        wait_until(lambda: drv.events("offline"), 30, "the will (status offline)")
        session: EsphomeSession = drv.runner.source
        assert session.online is False and drv.runner.counters.state(600) == "error"
        assert "offline" in (drv.runner.counters.last_error or "")
        assert weighings(drv.readings) == [480.5]
        second = sim(mosquitto, tmp_path)
        assert second.wait(30) == 0
        wait_until(lambda: len(weighings(drv.readings)) >= 3, 10, "the remaining weighings")
        assert weighings(drv.readings) == truth(tmp_path) == [480.5, 505.25, 333.3]
        assert len(drv.events("online")) == 1 and drv.runner.counters.frames_bad == 0
        wait_until(lambda: session.online is False, 5, "the shutdown message")  # clean stop: offline again


def test_settled_only_weights_make_weighings_with_one_stable_frame() -> None:
    """A source that publishes only settled values (0, tare, gross, 0) weighs with stable_frames=1: each new
    value is a run of one (the detector used to need a second identical frame to start counting)."""
    from edge_agent.drivers.base import DeviceReading

    settled = [DeviceReading(kind="weight", value=v, unit="kg", stable=True, status="ok")
               for v in (0.0, 20.0, 500.5, 0.0, 22.5, 527.75, 0.0)]
    assert weighings(settled) == [480.5, 505.25]
