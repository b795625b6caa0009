"""The output scale of a live scenario, served over the protocol the line config names (``scale_source``).

``mt_sics`` (default) is the MT-SICS balance on a PTY, driven by the runner; ``opcua`` serves the same
platform scale as an OPC UA server (weight node with EngineeringUnits kg and a stable flag, read by the
agent's ``opcua`` driver); ``esphome_mqtt`` publishes it as the ESPHome HX711 node of
``firmware_configs/esphome/platform_scale.yaml`` would (raw weight, settled flag, stable weight, status
birth/will) to the plant's broker, read by the ``esphome_mqtt`` driver. Each feeder samples the same
``PlatformScale`` the plan drives, so truth and the device agree by construction, and each is encoded
here, from the device's side, never with the driver's parser.
"""

from __future__ import annotations

import threading
from typing import Any

from simulators.scales.platform import PlatformScale

ESPHOME_PREFIX = "scale-out"


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


def make_scale_source(kind: str, scale: PlatformScale) -> OpcUaScale | EsphomeScale | None:
    """None for ``mt_sics`` (the runner serves the MT-SICS balance itself)."""
    if kind == "opcua":
        return OpcUaScale(scale)
    if kind == "esphome_mqtt":
        return EsphomeScale(scale)
    return None
