"""The output scale of a live scenario, served over the protocol the line config names (``scale_source``).

``mt_sics`` (default) is the MT-SICS balance on a PTY, driven by the runner; ``opcua`` serves the same
platform scale as an OPC UA server (weight node with EngineeringUnits kg and a stable flag, read by the
agent's ``opcua`` driver); ``esphome_mqtt`` publishes it as the ESPHome HX711 node of
``firmware_configs/esphome/platform_scale.yaml`` would (raw weight, settled flag, stable weight, status
birth/will) to the plant's broker, read by the ``esphome_mqtt`` driver; ``sparkplug_b`` is a Sparkplug B
3.0 edge node (``simulators/sparkplug_b.py follow``, pysparkplug in its own venv) with the scale as device
``scale1`` (Weight, Stable by alias), read by the ``sparkplug_b`` driver. Each feeder samples the same
``PlatformScale`` the plan drives, so truth and the device agree by construction, and each is encoded
here, from the device's side, never with the driver's parser.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from pathlib import Path
from typing import IO, Any

from junkan.core.errors import UserError
from simulators.scales.platform import PlatformScale

ESPHOME_PREFIX = "scale-out"
REPO = Path(__file__).resolve().parents[2]
SPARKPLUG_PYTHON_ENV = "JUNKAN_SPARKPLUG_PYTHON"


class OpcUaScale:
    """The platform scale as an OPC UA server, updated every ``period_s``."""

    def __init__(self, scale: PlatformScale, period_s: float = 0.05) -> None:
        from simulators.opcua import OpcUaPlant

        self.scale, self.period_s = scale, period_s
        self.server = OpcUaPlant(unit="kg")

    def device(self, name: str) -> dict[str, Any]:
        from simulators.opcua import NAMESPACE

        return {"name": name, "type": "opcua", "endpoint": "opc.tcp://127.0.0.1:1/", "mode": "poll",
                "interval_s": 0.1, "timeout_s": 4,
                "channels": [{"name": "net", "node": f"nsu={NAMESPACE};s=Scale.NetWeight", "kind": "weight",
                              "stable_node": f"nsu={NAMESPACE};s=Scale.WeightStable"}],
                "division_kg": 0.02, "stable_frames": 3}

    def overrides(self, index: int, broker_port: int) -> dict[str, Any]:
        return {f"devices.{index}.endpoint": self.server.url}

    def start(self, stop: threading.Event) -> None:
        self.server.start()

        def feed() -> None:
            while not stop.wait(self.period_s):
                r = self.scale.reading()
                self.server.set_weight(r.value_kg, r.stable and r.status == "ok")

        threading.Thread(target=feed, daemon=True, name="opcua-scale").start()

    def restart(self, down_s: float = 2.0) -> None:
        """The OPC UA server goes away (connections drop) and comes back with the same nodes."""
        self.server.stop()
        threading.Event().wait(down_s)
        self.server.start()

    def close(self) -> None:
        self.server.close()


class EsphomeScale:
    """The platform scale as an ESPHome HX711 node publishing to the plant's broker."""

    def __init__(self, scale: PlatformScale, period_s: float = 0.1) -> None:
        self.scale, self.period_s = scale, period_s
        self.client: Any = None

    def device(self, name: str) -> dict[str, Any]:
        return {"name": name, "type": "esphome_mqtt", "broker": {"host": "127.0.0.1", "port": 1883},
                "topic_prefix": ESPHOME_PREFIX,
                "entities": [{"entity": "sensor/stable_weight", "kind": "weight", "unit": "kg",
                              "assume_stable": True}],
                "division_kg": 0.02, "stable_frames": 1, "stale_after_s": 600}

    def overrides(self, index: int, broker_port: int) -> dict[str, Any]:
        self.broker_port = broker_port
        return {f"devices.{index}.broker.port": broker_port}

    def start(self, stop: threading.Event) -> None:
        import paho.mqtt.client as mqtt

        from simulators.esphome_mqtt import ScaleNode

        client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id="esphome-scale-out")
        client.will_set(f"{ESPHOME_PREFIX}/status", "offline", qos=0, retain=True)
        client.connect("127.0.0.1", self.broker_port)
        client.loop_start()
        client.publish(f"{ESPHOME_PREFIX}/status", "online", qos=0, retain=True)
        self.client, node = client, ScaleNode(ESPHOME_PREFIX)
        self.rebooting = threading.Event()

        def feed() -> None:
            while not stop.wait(self.period_s):
                r = self.scale.reading()
                if r.status != "ok" or self.rebooting.is_set():
                    continue
                for topic, payload in node.update(r.value_kg):
                    client.publish(topic, payload, qos=0, retain=True)

        threading.Thread(target=feed, daemon=True, name="esphome-scale").start()

    def restart(self, down_s: float = 2.0) -> None:
        """The node reboots (power cut): its will says offline, nothing is published, then birth again."""
        self.rebooting.set()
        self.client.publish(f"{ESPHOME_PREFIX}/status", "offline", qos=0, retain=True)
        threading.Event().wait(down_s)
        self.client.publish(f"{ESPHOME_PREFIX}/status", "online", qos=0, retain=True)
        self.rebooting.clear()

    def close(self) -> None:
        if self.client is not None:
            self.client.publish(f"{ESPHOME_PREFIX}/status", "offline", qos=0, retain=True)
            self.client.loop_stop()
            self.client.disconnect()


def sparkplug_python() -> Path:
    """The simulator venv's interpreter: ``$JUNKAN_SPARKPLUG_PYTHON`` or ``.venv-sparkplug`` of the repository
    (``make sim-venvs``). pysparkplug pins paho-mqtt<2, so it cannot be imported here."""
    python = Path(os.environ.get(SPARKPLUG_PYTHON_ENV) or REPO / ".venv-sparkplug" / "bin" / "python")
    if not python.exists():
        raise UserError(f"scale_source sparkplug_b needs the Sparkplug B simulator's venv ({python} is missing): "
                           f"run `make sim-venvs`, or set {SPARKPLUG_PYTHON_ENV}")
    return python


class SparkplugScale:
    """The platform scale behind a Sparkplug B edge node (a separate process in the simulator's venv).

    Samples go to the node's stdin every ``period_s``; it publishes DDATA by exception. ``restart`` SIGKILLs
    the node, so the broker publishes its Will (NDEATH with the session's bdSeq), and starts it again with
    the same state file: bdSeq + 1, NBIRTH and DBIRTH with the current weight."""

    def __init__(self, scale: PlatformScale, workdir: Path, period_s: float = 0.05) -> None:
        self.scale, self.period_s, self.workdir = scale, period_s, Path(workdir)
        self.python = sparkplug_python()
        for name in ("sparkplug-state.json", "sparkplug-log.jsonl"):  # a new plant: the node's first CONNECT
            (self.workdir / name).unlink(missing_ok=True)
        self.proc: subprocess.Popen[str] | None = None
        self.lock = threading.Lock()
        self.broker_port = 1883

    def device(self, name: str) -> dict[str, Any]:
        return {"name": name, "type": "sparkplug_b", "broker": {"host": "127.0.0.1", "port": 1883},
                "group_id": "plant1", "edge_node_id": "line1-edge", "device_id": "scale1",
                "metrics": [{"metric": "Scale/Weight", "kind": "weight", "unit": "kg",
                             "stable_metric": "Scale/Stable"}],
                "division_kg": 0.02, "stable_frames": 1, "rebirth_min_interval_s": 1.0, "stale_after_s": 600}

    def overrides(self, index: int, broker_port: int) -> dict[str, Any]:
        self.broker_port = broker_port
        return {f"devices.{index}.broker.port": broker_port}

    def _spawn(self) -> subprocess.Popen[str]:
        w = self.workdir
        return subprocess.Popen(
            [str(self.python), "-m", "simulators.sparkplug_b", "follow", "--port", str(self.broker_port),
             "--state", str(w / "sparkplug-state.json"), "--log", str(w / "sparkplug-log.jsonl")],
            stdin=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=REPO)

    def start(self, stop: threading.Event) -> None:
        self.proc = self._spawn()

        def feed() -> None:
            while not stop.wait(self.period_s):
                r = self.scale.reading()
                if r.status != "ok":
                    continue  # the scenario scale has no overload here; a node would publish an alarm bit
                line = json.dumps({"w": r.value_kg, "stable": r.stable}) + "\n"
                with self.lock:
                    _write(self.proc.stdin if self.proc else None, line)

        threading.Thread(target=feed, daemon=True, name="sparkplug-scale").start()

    def restart(self, down_s: float = 2.0) -> None:
        """The edge node dies (SIGKILL: no DISCONNECT, the broker sends the will) and boots again."""
        with self.lock:
            if self.proc is not None:
                self.proc.kill()
                self.proc.wait(10)
                self.proc = None
        threading.Event().wait(down_s)
        with self.lock:
            self.proc = self._spawn()

    def close(self) -> None:
        with self.lock:
            proc, self.proc = self.proc, None
        if proc is not None:
            if proc.stdin is not None:
                proc.stdin.close()  # end of input: the node disconnects cleanly
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def _write(pipe: IO[str] | None, line: str) -> None:
    if pipe is None:
        return
    try:
        pipe.write(line)
        pipe.flush()
    except (BrokenPipeError, ValueError):
        pass  # the node is dead (killed for a restart, or crashed): its samples are lost, as on a real line


def make_scale_source(kind: str, scale: PlatformScale, workdir: Path
                      ) -> OpcUaScale | EsphomeScale | SparkplugScale | None:
    """None for ``mt_sics`` (the runner serves the MT-SICS balance itself)."""
    if kind == "opcua":
        return OpcUaScale(scale)
    if kind == "esphome_mqtt":
        return EsphomeScale(scale)
    if kind == "sparkplug_b":
        return SparkplugScale(scale, workdir)
    return None
