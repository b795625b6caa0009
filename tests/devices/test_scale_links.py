"""Each scale protocol end to end over a real PTY: simulator encodes, driver decodes through SerialRunner.

The weights the runner emits are the platform's displayed weights; line noise ends up in the runner's
bad-frame counter and in the agent status message, never as a weight.
"""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest
from pydantic import TypeAdapter

from edge_agent.app import build_status
from edge_agent.config import DeviceConfig
from edge_agent.drivers import DRIVERS
from edge_agent.drivers.base import DeviceReading
from junkan.core.topics import AgentTopics
from simulators.pty_port import PtyPort
from simulators.scales.devices import DRIVER_KEYS, make_device
from simulators.scales.platform import PlatformScale

PROTOCOLS = ["and-ad", "sartorius-sbi", "ohaus", "toledo"]


def run_link(protocol: str, noise_rate: float, seconds: float, loads: list[float]):  # type: ignore[no-untyped-def]
    key = DRIVER_KEYS[protocol]
    port = PtyPort()
    scale = PlatformScale(division_kg=0.02, seed=3, noise_divisions=0.0)
    scale.set(load_kg=loads[0], moving=False)  # before the device thread encodes its first frame
    device = make_device(protocol, scale, port, noise_rate=noise_rate, seed=5, interval_s=0.02)
    config = TypeAdapter(DeviceConfig).validate_python({"name": "s1", "type": key, "port": {"url": port.path}})
    runner = DRIVERS[key].runner(config, None)
    got: list[DeviceReading] = []
    stop = threading.Event()
    threads = [threading.Thread(target=device.serve, args=(stop,), daemon=True),
               threading.Thread(target=runner.run, args=(got.append, stop), daemon=True)]
    for t in threads:
        t.start()
    try:
        for load in loads:
            scale.set(load_kg=load, moving=False)
            time.sleep(seconds / len(loads))
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=5)
        port.close()
    return config, runner, got


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_weights_arrive_as_displayed(protocol: str) -> None:
    loads = [0.0, 31.24, 187.5, 612.0]  # the last is above the 600 kg capacity
    _, runner, got = run_link(protocol, 0.0, 1.6, loads)
    weights = [r for r in got if r.kind == "weight"]
    values = {round(r.value, 3) for r in weights if r.status == "ok"}
    assert {0.0, 31.24, 187.5} <= values, values
    assert any(r.status == "overload" and r.value is None for r in weights)
    assert all(r.stable for r in weights if r.status == "ok")
    assert runner.counters.frames_bad <= 1  # at most the line cut by attaching mid-stream
    assert runner.counters.frames_ok >= 30


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_line_noise_is_counted_and_shown_in_status(protocol: str) -> None:
    config, runner, got = run_link(protocol, 0.3, 1.0, [42.0])
    assert runner.counters.frames_bad >= 3
    ok = [r.value for r in got if r.kind == "weight" and r.status == "ok"]
    wrong = [v for v in ok if abs(v - 42.0) > 1e-6]
    assert len(ok) >= 10
    if protocol == "toledo":  # the checksum catches every corrupted frame
        assert not wrong, "noise became a weight"
    else:  # ASCII frames without a checksum: a flipped digit can still parse; the ±1 d stability
        assert len(wrong) <= 0.1 * len(ok), wrong  # run of the weighing detector rejects single frames
    agent = SimpleNamespace(devices=[config])
    core = SimpleNamespace(live_lot=lambda: None, alarms=[], clock_status=None)
    outbox = SimpleNamespace(depth=lambda: (0, 0.0), schema_version=lambda: 2)
    status = build_status(agent, AgentTopics("s", "l", "a"), "sess", "online", {"s1": runner},  # type: ignore[arg-type]
                          core, outbox)  # type: ignore[arg-type]
    health = status.devices[0]
    assert health.frames_bad == runner.counters.frames_bad >= 3
    assert health.driver == DRIVER_KEYS[protocol]
