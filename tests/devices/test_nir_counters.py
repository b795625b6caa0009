"""NIR sorter counters: a PLC restart is found from evidence (uptime register, plausibility bound), never
from the size of a delta. The defect: counters above 2^31 before a restart made "a jump > 2^31 is a
reset" publish ``ejections: {"PET": 2147483238}`` as ok (issue 15)."""

from __future__ import annotations

import time

import pytest

from edge_agent.drivers import nir_sorter_modbus
from edge_agent.drivers.base import DeviceReading
from edge_agent.drivers.nir_sorter_modbus import Snapshot, interval_reading
from junkan.broker import free_port
from simulators.nir_sorter_modbus import SorterPlc, SorterScenario
from tests.devices.runner_thread import RunnerThread, wait_until

B = 1 << 31


def snap(t: float, pet: int, uptime: int | None = None) -> Snapshot:
    return Snapshot(t, True, 2.5, [], {"PET": pet}, {"PET": pet}, uptime)


def test_counter_above_2_31_then_restart_from_0_is_never_ok_counts() -> None:
    reading = interval_reading(snap(0.0, B + 1000), snap(10.0, 590), max_rate_per_s=5000)
    assert reading.status == "error" and "counter_implausible" in reading.data["alarms"]
    assert reading.data["counts"] == {} and reading.data["ejections"] == {}  # not 2147483238
    assert "PET detected" in reading.data["reason"]


def test_counters_crossing_2_31_and_2_32_are_counted() -> None:
    for before in (B - 100, (1 << 32) - 100):
        reading = interval_reading(snap(0.0, before), snap(10.0, (before + 250) % (1 << 32)))
        assert reading.status == "ok" and reading.data["counts"] == {"PET": 250}


@pytest.mark.parametrize(("grown", "restart"), [(10, False), (9, False), (3, True), (-432000, True)])
def test_uptime_register_tells_a_restart_even_when_deltas_look_plausible(grown: int, restart: bool) -> None:
    up = 5 * 86400
    reading = interval_reading(snap(0.0, B + 1000, up), snap(10.0, B + 1050, up + grown))
    assert (reading.status == "error") is restart
    assert ("plc_restart" in reading.data["alarms"]) is restart
    assert reading.data["counts"] == ({} if restart else {"PET": 50})


def _run(scenario: SorterScenario, uptime_register: int | None, restart_start: int | None) -> list[DeviceReading]:
    port = free_port()
    plc = SorterPlc(scenario, port, tick_s=0.05).start()
    config = nir_sorter_modbus.NirSorterModbusConfig.model_validate(
        {"name": "nir", "type": "nir_sorter_modbus", "modbus": {"host": "127.0.0.1", "port": port},
         "interval_s": 0.25, "uptime_register": uptime_register, "max_rate_per_s": 2000})
    try:
        with RunnerThread(nir_sorter_modbus.runner(config)) as running:
            got = running.readings
            wait_until(lambda: len(got) >= 3)
            plc.restart(restart_start)
            n = len(got)
            wait_until(lambda: len(got) >= n + 3)
    finally:
        plc.stop()
    return got


@pytest.mark.parametrize(("start", "uptime_register", "restart_start"),
                         [(B - 150, 6, None),  # counters cross 2^31, restart back to the same start value
                          (B + 1000, None, 0)])  # above 2^31 then from 0, a PLC without an uptime register
def test_live_plc_restart_gives_no_phantom_counts(start: int, uptime_register: int | None,
                                                  restart_start: int | None) -> None:
    scenario = SorterScenario(objects_per_s=400, counter_offset=start, seed=4)
    got = _run(scenario, uptime_register, restart_start)
    bad = [r for r in got if r.status == "error"]
    assert len(bad) == 1, [r.data for r in got]
    assert bad[0].data["counts"] == {} and ({"plc_restart", "counter_implausible"} & set(bad[0].data["alarms"]))
    ok = [r for r in got if r.status == "ok"]
    assert all(v <= 2000 * r.data["interval_s"] + 1 for r in ok for v in r.data["counts"].values())
    for channel in scenario.channels:
        counted = sum(r.data["counts"][channel] for r in ok)
        assert counted <= scenario.totals[channel]  # never more than what was sorted
        lost_s = bad[0].data["interval_s"] + max(r.data["interval_s"] for r in got) + 1.0  # + the unpolled tail
        assert counted >= scenario.totals[channel] - 400 * lost_s  # only about the restart interval is lost


def test_plc_off_the_network_is_not_a_restart() -> None:
    """The PLC unreachable for a while (as the NIR outage of the whole-line scenario does it) keeps its uptime:
    with the uptime register read, no interval is taken for a restart."""
    port = free_port()
    scenario = SorterScenario(objects_per_s=200, counter_offset=B - 100, seed=5)
    plc = SorterPlc(scenario, port, tick_s=0.05).start()
    config = nir_sorter_modbus.NirSorterModbusConfig.model_validate(
        {"name": "nir", "type": "nir_sorter_modbus", "modbus": {"host": "127.0.0.1", "port": port, "timeout_s": 0.5},
         "interval_s": 0.25, "uptime_register": 6})
    runner = nir_sorter_modbus.runner(config)
    try:
        with RunnerThread(runner) as running:
            got = running.readings
            wait_until(lambda: len(got) >= 2)
            plc.stop()
            time.sleep(3.0)  # longer than the restart tolerance (2 s)
            plc.start()
            n = len(got)
            wait_until(lambda: len(got) >= n + 3)
    finally:
        plc.stop()
    assert runner.counters.reconnects >= 1
    assert [r.data.get("reason") for r in got if r.status != "ok"] == []
    assert any(r.data["interval_s"] > 2.5 for r in got)  # the interval spanning the outage
