"""Every non-camera device kind on one line, through real processes: agent -> Mosquitto -> gateway.

A Toledo scale (PTY), a Vanta export folder, an NIR sorter's Modbus counters and its object event
socket feed one agent; the operator opens and closes a lot through the gateway's API. The lot's stored
readings must hold every XRF reading with the exported values and every object the sorter sent.
"""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest
import yaml

from junkan.broker import free_port
from junkan.plant import Plant
from simulators.commands.scale import rest_operator
from simulators.nir_events_tcp import ObjectStream
from simulators.nir_sorter_modbus import SorterPlc, SorterScenario
from simulators.pty_port import PtyPort
from simulators.scales.devices import make_device
from simulators.scales.platform import PlatformScale
from simulators.tcp_port import TcpServerPort
from simulators.xrf.exporter import encode_file
from simulators.xrf.samples import export_file, random_sample

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def line_config(tmp: Path, modbus_port: int, events_url: str) -> Path:
    config = yaml.safe_load((Path(__file__).parents[2] / "firmware_configs/lines/demo_line_toledo.yaml").read_text())
    config["devices"] += [
        {"name": "xrf-1", "type": "vanta_csv",
         "folder": {"path": str(tmp / "exports"), "settle_s": 0.2, "poll_interval_s": 0.1,
                    "state_path": str(tmp / "xrf.state.json")}},
        {"name": "nir-counters", "type": "nir_sorter_modbus", "modbus": {"host": "127.0.0.1", "port": modbus_port},
         "interval_s": 0.5},
        {"name": "nir-objects", "type": "nir_events_tcp", "port": {"url": events_url}},
    ]
    path = tmp / "line.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def test_all_device_kinds_reach_the_lot(tmp_path: Path) -> None:
    (tmp_path / "exports").mkdir()
    modbus_port, events = free_port(), TcpServerPort()
    counters = SorterScenario(objects_per_s=100, seed=1)
    objects = SorterScenario(objects_per_s=100, seed=2, running=False)
    plc = SorterPlc(counters, modbus_port).start()
    stream = ObjectStream(objects, events, heartbeat_s=0.2)
    pty, scale = PtyPort(), PlatformScale(seed=1)
    plant = Plant(tmp_path / "plant", line_config=line_config(tmp_path, modbus_port, events.url))
    try:
        plant.start_broker()
        plant.start_gateway()
        threading.Thread(target=make_device("toledo", scale, pty).serve, args=(plant.stop_event,), daemon=True).start()
        threading.Thread(target=stream.serve, args=(plant.stop_event,), daemon=True).start()
        plant.start_agent(plant.agent_config({"scale-pp": pty.path}, overrides={"status_interval_s": 1}))
        plant.wait_agent_online("agent-line-1")
        operator = rest_operator(plant.api, "line-1")
        operator("open", "line-1-ALL-0001")
        time.sleep(1.5)  # the agent has the open lot before anything is measured
        objects.running = True
        rng = random.Random(5)
        samples = [random_sample(rng, n, bfr=n % 2 == 0) for n in range(1, 5)]
        for s in samples:
            export_file(tmp_path / "exports" / f"vanta_{s.reading_no}.csv", encode_file("vanta", [s]))
        time.sleep(1.5)
        objects.running = False
        time.sleep(1.0)  # last objects and the last counter interval in flight
        operator("close", "line-1-ALL-0001")
        plant.wait_for(lambda: plant.get("/api/v1/lots/line-1-ALL-0001")["status"] == "closed", 30, "lot closed")
        readings = plant.wait_for(
            lambda: (r := plant.get("/api/v1/lots/line-1-ALL-0001/readings?limit=100000"))
            and sum(x["kind"] == "xrf" for x in r) == 4 and r, 30, "readings stored")
        devices = plant.get("/api/v1/devices")
    finally:
        plant.stop()
        plc.stop()
        events.close()
        pty.close()
    xrf = sorted((r for r in readings if r["kind"] == "xrf"), key=lambda r: r["data"]["reading_no"])
    for r, s in zip(xrf, samples, strict=True):
        for element, ppm in s.ppm.items():
            assert r["data"]["elements"][element]["ppm"] == ppm
            assert r["data"]["elements"][element]["below_lod"] is (ppm is None)
    got_objects = [r for r in readings if r["kind"] == "nir_object"]
    assert {c: sum(r["data"]["polymer"] == c for r in got_objects) for c in objects.channels} == stream.sent
    assert sum(stream.sent.values()) > 50
    assert any(r["kind"] == "nir_counts" and sum(r["data"]["counts"].values()) > 0 for r in readings)
    names = {d["device"] for d in devices}
    assert {"scale-pp", "xrf-1", "nir-counters", "nir-objects"} <= names
