"""A non-MT-SICS scale through the whole plant: simulator -> agent -> real Mosquitto -> gateway.

The demo line for the protocol (firmware_configs/lines/demo_line_<protocol>.yaml, the file
`junkan demo --protocol` uses) runs as real `junkan agent run` / `junkan gateway serve` processes; the
lots the gateway stores must equal the simulator's truth within 0.1 %.
"""

from __future__ import annotations

import threading

import pytest

from junkan.demo import demo_line_config
from junkan.plant import Plant
from simulators.commands.scale import rest_operator
from simulators.pty_port import PtyPort
from simulators.scales.devices import make_device
from simulators.scales.platform import ContainerScenario, PlatformScale

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("protocol", ["toledo", pytest.param("sartorius-sbi", marks=pytest.mark.slow),
                                      pytest.param("and-ad", marks=pytest.mark.slow),
                                      pytest.param("ohaus", marks=pytest.mark.slow)])
def test_lots_at_gateway_equal_truth(tmp_path, protocol: str) -> None:  # type: ignore[no-untyped-def]
    plant = Plant(tmp_path, line_config=demo_line_config(protocol))
    port = PtyPort()
    scale = PlatformScale(seed=5)
    scenario = ContainerScenario(line="line-1", lots=2, speed=2.5, seed=5)
    done = threading.Event()
    try:
        plant.start_broker()
        plant.start_gateway()
        threading.Thread(target=make_device(protocol, scale, port, noise_rate=0.02, seed=5).serve,
                         args=(plant.stop_event,), daemon=True).start()
        plant.start_agent(plant.agent_config({"scale-pp": port.path},
                                             overrides={"outbox.ack_timeout_s": 2, "status_interval_s": 1}))
        plant.wait_agent_online("agent-line-1")

        def play() -> None:
            scenario.run(scale, plant.stop_event, rest_operator(plant.api, "line-1"))
            done.set()

        threading.Thread(target=play, daemon=True).start()
        assert done.wait(120), "scenario did not finish"
        truth_ids = {t["lot_id"] for t in scenario.truth}
        plant.wait_for(lambda: truth_ids <= {lot["lot_id"] for lot in
                                             plant.get("/api/v1/lots?status=closed&limit=100")},
                       60, "all truth lots closed at the gateway")
        stored = {lot["lot_id"]: lot for lot in plant.get("/api/v1/lots?limit=100")}
        agents = plant.get("/api/v1/agents")
    finally:
        plant.stop()
        port.close()
    assert len(scenario.truth) == 2
    for t in scenario.truth:
        lot = stored[t["lot_id"]]
        assert lot["n_weighings"] == t["n_containers"]
        assert abs(lot["net_mass_kg"] - t["net_mass_kg"]) <= 0.001 * t["net_mass_kg"], (lot, t)
    assert agents, "agent status reached the gateway"
