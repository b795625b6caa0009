"""The MQTT traffic of firmware_configs/esphome/platform_scale.yaml, from ESPHome's documented layout.

Encoder only (never imports the driver): with topic_prefix = the node name, ESPHome publishes retained
``<prefix>/status`` ``online`` as birth and ``offline`` as will, and each entity's state, retained, on
``<prefix>/<component>/<object_id>/state`` (sensors with their ``accuracy_decimals``, binary sensors
``ON``/``OFF``, only on change). This node re-implements the YAML's stable-weight filter: the live
``sensor/weight`` on every HX711 update, ``binary_sensor/weight_stable`` when the last 5 values lie within
the band, and ``sensor/stable_weight`` (their mean) once per settled value. ``button/tare/command``
``PRESS`` tares. ``--die-at N`` ends the process abruptly at tick N (the broker publishes the will); run
again with the same ``--state`` and it reboots (filter window empty) at that tick.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from simulators import node_cli

WINDOW, BAND_KG = 5, 0.04


def plan_ticks(containers: list[tuple[float, float]], hold: int = 8, ramp: int = 6) -> list[float]:
    """True platform load (kg) per HX711 update: empty, tare placed, filled, removed, empty."""
    ticks = [0.0] * hold
    for tare, net in containers:
        ticks += [round(tare * (k + 1) / 3, 3) for k in range(2)] + [tare] * hold
        ticks += [round(tare + net * (k + 1) / ramp, 3) for k in range(ramp - 1)] + [round(tare + net, 3)] * hold
        ticks += [round((tare + net) / 3, 3)] + [0.0] * hold
    return ticks


class ScaleNode:
    """What the node publishes for each new weight (topic, payload); state as in the YAML's lambda."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.window: list[float] = []
        self.stable: bool | None = None
        self.last_published: float | None = None
        self.tare_kg = 0.0

    def update(self, load_kg: float) -> list[tuple[str, str]]:
        w = load_kg - self.tare_kg
        out = [(f"{self.prefix}/sensor/weight/state", f"{w:.2f}")]
        self.window = [*self.window, w][-WINDOW:]
        settled = len(self.window) == WINDOW and max(self.window) - min(self.window) <= BAND_KG
        if settled != self.stable:
            self.stable = settled
            out.append((f"{self.prefix}/binary_sensor/weight_stable/state", "ON" if settled else "OFF"))
        mean = sum(self.window) / len(self.window)
        if settled and (self.last_published is None or abs(mean - self.last_published) > BAND_KG / 2):
            self.last_published = mean
            out.append((f"{self.prefix}/sensor/stable_weight/state", f"{mean:.2f}"))
        return out


def run(args: argparse.Namespace) -> int:
    import paho.mqtt.client as mqtt

    state_path = Path(args.state)
    start = json.loads(state_path.read_text())["tick"] if state_path.exists() else 0
    ticks = plan_ticks(node_cli.containers(args.containers))
    node = ScaleNode(args.prefix)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"esphome-{args.prefix}", clean_session=False)
    client.will_set(f"{args.prefix}/status", "offline", qos=0, retain=True)
    load: dict[str, float] = {"now": ticks[start - 1] if start else 0.0}

    def on_message(_c: Any, _u: Any, msg: Any) -> None:
        if msg.payload == b"PRESS":
            node.tare_kg = load["now"]

    client.on_message = on_message
    client.connect(args.host, args.port, keepalive=15)
    client.subscribe(f"{args.prefix}/button/tare/command", qos=0)
    client.loop_start()
    client.publish(f"{args.prefix}/status", "online", qos=0, retain=True)
    truth = open(args.truth, "a", encoding="utf-8") if args.truth else None  # noqa: SIM115
    containers = node_cli.containers(args.containers)
    for i in range(start, len(ticks)):
        if i == args.die_at:
            os._exit(3)  # power cut: no shutdown message, the broker publishes the will
        load["now"] = ticks[i]
        for topic, payload in node.update(ticks[i]):
            client.publish(topic, payload, qos=0, retain=True)
        state_path.write_text(json.dumps({"tick": i + 1}))
        if truth and ticks[i] == 0.0 and i > 0 and ticks[i - 1] != 0.0:
            truth.write(json.dumps({"net_kg": _net_of(containers, ticks, i)}) + "\n")
            truth.flush()
        time.sleep(args.interval)
    time.sleep(args.linger)
    client.publish(f"{args.prefix}/status", "offline", qos=0, retain=True).wait_for_publish(2)  # shutdown message
    client.loop_stop()
    client.disconnect()
    return 0


def _net_of(containers: list[tuple[float, float]], ticks: list[float], i: int) -> float:
    """Net of the container just removed at tick i (the n-th return to zero)."""
    n = sum(1 for k in range(1, i + 1) if ticks[k] == 0.0 and ticks[k - 1] != 0.0) - 1
    return containers[n][1]


def frames(args: argparse.Namespace) -> int:
    """The node's traffic as a capture file (``{"t", "topic", "payload"}`` lines), no broker."""
    node, out = ScaleNode(args.prefix), [(f"{args.prefix}/status", "online")]
    for i, load in enumerate(plan_ticks(node_cli.containers(args.containers))):
        if i == args.die_at:
            out.append((f"{args.prefix}/status", "offline"))
            break
        out += node.update(load)
    node_cli.write_capture(args.out, out)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser, _, run_p, frames_p = node_cli.node_parser("simulators.esphome_mqtt", __doc__,
                                                      "die at this tick (will = offline)")
    for p in (run_p, frames_p):
        p.add_argument("--prefix", default="scale-line1", help="the node's topic_prefix (node name)")
    run_p.add_argument("--host", default="127.0.0.1")
    run_p.add_argument("--port", type=int, default=1883)
    run_p.add_argument("--state", required=True, help="JSON file keeping the tick across restarts")
    run_p.add_argument("--interval", type=float, default=0.02, help="seconds between HX711 updates")
    run_p.add_argument("--linger", type=float, default=0.5)
    args = parser.parse_args(argv)
    return run(args) if args.cmd == "run" else frames(args)


if __name__ == "__main__":
    sys.exit(main())
