"""NIR sorter: Modbus counters against a real pymodbus server, and JSON object events over real TCP.

Per-interval counts summed over a session equal the simulator's truth exactly: across a 32-bit
counter wrap and across a PLC outage (the belt keeps sorting while the agent cannot read).
"""

from __future__ import annotations

import threading
import time

from edge_agent.drivers import nir_events_tcp, nir_sorter_modbus
from edge_agent.drivers.base import DeviceReading
from junkan.broker import free_port
from simulators.nir_events_tcp import ObjectStream
from simulators.nir_sorter_modbus import SorterPlc, SorterScenario
from simulators.tcp_port import TcpServerPort
from tests.devices.runner_thread import RunnerThread, wait_until


def test_modbus_counts_equal_truth_across_wrap_and_outage() -> None:
    port = free_port()
    scenario = SorterScenario(objects_per_s=400, counter_offset=(1 << 32) - 300, running=False, seed=9)
    scenario.alarms.add("sensor_dirty")
    plc = SorterPlc(scenario, port, tick_s=0.05).start()
    config = nir_sorter_modbus.NirSorterModbusConfig.model_validate(
        {"name": "nir", "type": "nir_sorter_modbus", "modbus": {"host": "127.0.0.1", "port": port},
         "interval_s": 0.25})
    runner = nir_sorter_modbus.runner(config)
    try:
        with RunnerThread(runner) as running:
            got = running.readings
            wait_until(lambda: runner.counters.frames_ok >= 1)  # baseline taken while the belt stands still
            with plc.lock:
                scenario.running = True
            time.sleep(1.0)
            plc.outage(0.8)  # agent loses the PLC; sorting continues
            time.sleep(1.0)
            with plc.lock:
                scenario.running = False
            n = runner.counters.frames_ok
            wait_until(lambda: runner.counters.frames_ok >= n + 2)  # two polls after the belt stopped
    finally:
        plc.stop()
    assert runner.counters.reconnects >= 1
    assert sum(scenario.totals.values()) > 300  # the counters did wrap
    for channel in scenario.channels:
        assert sum(r.data["counts"][channel] for r in got) == scenario.totals[channel]
        assert sum(r.data["ejections"][channel] for r in got) == scenario.ejected[channel]
    assert all(r.kind == "nir_counts" and r.data["alarms"] == ["sensor_dirty"] for r in got)
    assert any(r.data["interval_s"] > 0.8 for r in got)  # the interval spanning the outage
    assert got[-1].data["running"] is False and got[0].data["belt_speed_m_s"] == 2.5


def test_modbus_capture_decodes_to_the_live_readings(tmp_path) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    scenario = SorterScenario(objects_per_s=200, seed=2)
    plc = SorterPlc(scenario, port, tick_s=0.05).start()
    config = nir_sorter_modbus.NirSorterModbusConfig.model_validate(
        {"name": "nir", "type": "nir_sorter_modbus", "modbus": {"host": "127.0.0.1", "port": port},
         "interval_s": 0.2})
    capture = tmp_path / "nir.jsonl"
    with RunnerThread(nir_sorter_modbus.runner(config, capture)) as running:
        got = running.readings
        wait_until(lambda: len(got) >= 4)
    plc.stop()
    offline = nir_sorter_modbus.decoder(config).feed(capture.read_bytes())
    assert all(isinstance(r, DeviceReading) for r in offline)
    assert [r.as_json() for r in offline if isinstance(r, DeviceReading)] == [r.as_json() for r in got]


def test_object_events_over_tcp() -> None:
    server = TcpServerPort()
    scenario = SorterScenario(objects_per_s=300, seed=4)
    stream = ObjectStream(scenario, server, heartbeat_s=0.1)
    config = nir_events_tcp.NirEventsTcpConfig.model_validate(
        {"name": "objects", "type": "nir_events_tcp", "port": {"url": server.url}})
    runner = nir_events_tcp.runner(config)
    with RunnerThread(runner, join_s=5) as running:
        got = running.readings
        wait_until(lambda: runner.counters.connected)
        while server._client is None:
            server.read(0.05)
        stream.serve(threading.Event(), count=200)
        time.sleep(0.3)  # one more heartbeat after the last object
        server.read(0.2)
        wait_until(lambda: sum(r.kind == "nir_object" for r in got) >= 200)
    server.close()
    objects = [r for r in got if r.kind == "nir_object"]
    by_class = {c: sum(r.data["polymer"] == c for r in objects) for c in scenario.channels}
    assert by_class == stream.sent
    assert all(0.6 <= r.data["confidence"] <= 1.0 and r.ts is not None for r in objects)
    assert runner.counters.frames_bad == 0
