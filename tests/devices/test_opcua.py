"""The ``opcua`` driver against a real asyncua server (``simulators/opcua.py``) on loopback.

Units from EngineeringUnits, counters across a server restart (reconnect, nothing counted twice or
invented), a node deleted while connected, and the secured endpoint (Basic256Sha256 SignAndEncrypt,
certificates made here with ``cryptography``, user/password) refusing a wrong password or an untrusted
certificate with an error that says so.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from edge_agent.drivers import DRIVERS
from edge_agent.drivers.base import DeviceReading
from edge_agent.drivers.opcua import OpcUaConfig
from edge_agent.drivers.opcua_client import OpcUaRunner
from simulators.opcua import NAMESPACE, OpcUaPlant, SimSecurity
from tests.devices.opcua_certs import make_cert

pytestmark = [pytest.mark.timeout(120),
              pytest.mark.filterwarnings("ignore:coroutine .MonitoredItemService:RuntimeWarning")]  # asyncua server bug


def node(name: str) -> str:
    return f"nsu={NAMESPACE};s={name}"


def config(url: str, mode: str = "poll", **extra: Any) -> OpcUaConfig:
    channels = [
        {"name": "net", "node": node("Scale.NetWeight"), "kind": "weight", "stable_node": node("Scale.WeightStable")},
        {"name": "pet", "node": node("Sorter.PET"), "kind": "counter"},
        {"name": "pp", "node": node("Sorter.PP"), "kind": "counter"},
        {"name": "estop", "node": node("Sorter.AlarmWord"), "kind": "alarm", "bit": 0},
    ]
    return OpcUaConfig.model_validate({"name": "plc", "type": "opcua", "endpoint": url, "mode": mode,
                                       "interval_s": 0.1, "node_check_s": 0.5, "timeout_s": 2,
                                       "channels": channels, **extra})


@contextmanager
def running(cfg: OpcUaConfig) -> Iterator[tuple[OpcUaRunner, list[DeviceReading]]]:
    runner = DRIVERS["opcua"].runner(cfg, None)
    got: list[DeviceReading] = []
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(got.append, stop), daemon=True)
    thread.start()
    try:
        yield runner, got
    finally:
        stop.set()
        thread.join(timeout=10)
        assert not thread.is_alive(), "runner did not stop"


def wait_for(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.05)
    raise AssertionError(f"not reached within {timeout} s")


def of(got: list[DeviceReading], channel: str) -> list[DeviceReading]:
    return [r for r in list(got) if r.data.get("channel") == channel]


@pytest.fixture
def plant() -> Iterator[OpcUaPlant]:
    with OpcUaPlant(unit="g") as p:
        yield p


@pytest.mark.parametrize("mode", ["poll", "subscribe"])
def test_readings_arrive_with_units_from_engineering_units(plant: OpcUaPlant, mode: str) -> None:
    plant.set_weight(512_300.0)  # grams on the server
    plant.count("PET", 7)
    with running(config(plant.url, mode)) as (runner, got):
        wait_for(lambda: of(got, "net") and of(got, "estop"))
        plant.count("PET", 5)
        plant.set_alarm(0, True)
        plant.set_weight(1000.0, stable=False)
        wait_for(lambda: of(got, "pet") and len(of(got, "estop")) >= 2 and of(got, "net")[-1].value == 1.0)
    weights = of(got, "net")
    assert weights[0].value == 512.3 and weights[0].unit == "kg" and weights[0].status == "ok" and weights[0].stable
    assert weights[-1].status == "unstable" and not weights[-1].stable
    assert [(r.value, r.data["total"]) for r in of(got, "pet")] == [(5.0, 12)]  # 7 was the baseline
    assert [r.data["active"] for r in of(got, "estop")] == [False, True]
    assert runner.counters.connected is False and runner.counters.frames_ok > 0


@pytest.mark.parametrize("unit", ["N", None])
def test_weight_with_unknown_unit_is_an_error_not_kg(unit: str | None) -> None:
    with OpcUaPlant(unit=unit) as plant, running(config(plant.url)) as (_runner, got):
        plant.set_weight(12.0)
        wait_for(lambda: len(of(got, "net")) >= 3)
    assert all(r.status == "error" and r.value is None for r in of(got, "net"))
    why = of(got, "net")[0].data["error"]
    assert ("unknown engineering unit" in why) if unit else ("no EngineeringUnits" in why)
    assert node("Scale.NetWeight") in why


@pytest.mark.parametrize("mode", ["poll", "subscribe"])
def test_server_restart_reconnects_and_counts_nothing_twice(plant: OpcUaPlant, mode: str) -> None:
    plant.count("PET", 100)
    with running(config(plant.url, mode)) as (runner, got):
        wait_for(lambda: of(got, "estop"))  # connected; 100 is the baseline
        for _ in range(5):
            plant.count("PET", 3)
            time.sleep(0.15)
        wait_for(lambda: of(got, "pet") and of(got, "pet")[-1].data["total"] == 115)
        plant.stop()
        wait_for(lambda: runner.counters.last_error)
        plant.count("PET", 40)  # counted by the PLC while its OPC UA server was down
        time.sleep(0.5)
        plant.start()
        wait_for(lambda: runner.counters.connected)
        for _ in range(3):
            plant.count("PET", 2)
            time.sleep(0.15)
        wait_for(lambda: of(got, "pet")[-1].data["total"] == 161)
        time.sleep(0.5)  # a re-sent initial notification would show up here
    pet = of(got, "pet")
    totals = [r.data["total"] for r in pet]
    assert totals == sorted(set(totals)), f"a total reported twice or out of order: {totals}"
    assert sum(r.value or 0 for r in pet) == 61  # exactly what the PLC counted after the baseline
    assert not any(r.data["reset"] for r in pet) and runner.counters.reconnects >= 1
    assert "connection" in (runner.counters.last_error or "") or runner.counters.last_error is None


def test_counter_reset_is_flagged_not_a_huge_delta(plant: OpcUaPlant) -> None:
    plant.count("PET", 5000)
    with running(config(plant.url)) as (_runner, got):
        wait_for(lambda: of(got, "estop"))
        plant.reset_counters()
        plant.count("PET", 4)
        wait_for(lambda: of(got, "pet") and of(got, "pet")[-1].data["total"] == 4)
    first = of(got, "pet")[0]
    assert first.data["reset"] and first.status == "unstable" and first.value in (0.0, 4.0)
    assert sum(r.value or 0 for r in of(got, "pet")) <= 4


@pytest.mark.parametrize("mode", ["poll", "subscribe"])
def test_node_removed_is_an_error_for_that_channel_only(plant: OpcUaPlant, mode: str) -> None:
    with running(config(plant.url, mode)) as (_runner, got):
        wait_for(lambda: of(got, "estop"))
        plant.remove("Sorter.PP")
        pp = wait_for(lambda: [r for r in of(got, "pp") if r.status == "error"])
        plant.count("PET", 9)
        wait_for(lambda: of(got, "pet") and of(got, "pet")[-1].data["total"] == 9)
        n_net = len(of(got, "net"))
        wait_for(lambda: len(of(got, "net")) > n_net + 2)  # the weight goes on too
    assert "BadNodeIdUnknown" in pp[0].data["error"] and node("Sorter.PP") in pp[0].data["error"]
    assert len([r for r in of(got, "pp") if r.status == "error"]) == 1  # reported once, not every poll


# -- security ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("pki")
    server = make_cert(d, "server", "urn:junkan:sim:opcua:server", server=True)
    client = make_cert(d, "client", "urn:junkan:agent", server=False)
    stranger = make_cert(d, "stranger", "urn:junkan:agent", server=False)
    (d / "good.pw").write_text("s3cret\n")
    (d / "bad.pw").write_text("guess\n")
    return {"server": server[0], "server_key": server[1], "client": client[0], "client_key": client[1],
            "stranger": stranger[0], "stranger_key": stranger[1], "good": d / "good.pw", "bad": d / "bad.pw"}


@pytest.fixture(scope="module")
def secure_plant(pki: dict[str, Path]) -> Iterator[OpcUaPlant]:
    sec = SimSecurity(pki["server"], pki["server_key"], [pki["client"]], {"agent": "s3cret"})
    with OpcUaPlant(unit="kg", security=sec) as p:
        p.set_weight(42.0)
        yield p


def secure_config(plant: OpcUaPlant, pki: dict[str, Path], cert: str = "client", password: str = "good",
                  pin: bool = True) -> OpcUaConfig:
    security = {"policy": "Basic256Sha256", "mode": "SignAndEncrypt", "certificate": str(pki[cert]),
                "private_key": str(pki[f"{cert}_key"]), "application_uri": "urn:junkan:agent",
                "server_certificate": str(pki["server"]) if pin else None}
    return config(plant.url, username="agent", password_file=str(pki[password]), security=security)


@pytest.mark.parametrize("pin", [True, False], ids=["pinned", "from-endpoints"])
def test_secure_channel_with_certificates_and_password(secure_plant: OpcUaPlant, pki: dict[str, Path],
                                                       pin: bool) -> None:
    with running(secure_config(secure_plant, pki, pin=pin)) as (runner, got):
        wait_for(lambda: of(got, "net"))
    assert of(got, "net")[0].value == 42.0 and runner.counters.last_error is None


@pytest.mark.parametrize(("cert", "password", "expect"), [
    ("client", "bad", ["BadUserAccessDenied", "wrong user name or password", "'agent'"]),
    ("stranger", "good", ["BadSecurityChecksFailed", "does not trust the client certificate"]),
])
def test_refused_login_says_why_and_reads_nothing(secure_plant: OpcUaPlant, pki: dict[str, Path], cert: str,
                                                  password: str, expect: list[str]) -> None:
    with running(secure_config(secure_plant, pki, cert, password)) as (runner, got):
        error = wait_for(lambda: runner.counters.last_error)
    assert not got and not runner.counters.connected
    assert all(e in error for e in expect), error


def test_unsecured_client_cannot_reach_a_secured_server(secure_plant: OpcUaPlant, pki: dict[str, Path]) -> None:
    cfg = config(secure_plant.url, username="agent", password_file=str(pki["good"]))
    with running(cfg) as (runner, got):
        error = wait_for(lambda: runner.counters.last_error)
    assert not got and secure_plant.url in error


def test_counter_totals_resume_from_the_checkpoint(plant: OpcUaPlant) -> None:
    """After an agent restart the outbox's checkpoint is the baseline: what was counted meanwhile counts."""
    plant.count("PET", 50)
    runner = DRIVERS["opcua"].runner(config(plant.url), None)
    runner.checkpoint = {"totals": {"pet": 30, "pp": 0}}
    got: list[DeviceReading] = []
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(got.append, stop), daemon=True)
    thread.start()
    try:
        wait_for(lambda: of(got, "pet"))
    finally:
        stop.set()
        thread.join(timeout=10)
    assert of(got, "pet")[0].value == 20.0 and of(got, "pet")[0].checkpoint == {"totals": {"pet": 50, "pp": 0}}
