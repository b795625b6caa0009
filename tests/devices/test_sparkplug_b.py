"""Sparkplug B ingest against an independent edge node (pysparkplug in its own venv) on a real Mosquitto.

The simulator encodes with pysparkplug's compiled copy of Tahu's schema, junkan decodes with its own
descriptor: the schema cross-check and every live test fail if a field number, a type or the session
rules (aliases, seq, bdSeq, death, rebirth) are wrong on either side.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from edge_agent.drivers import sparkplug_proto
from edge_agent.drivers.sparkplug_b import SparkplugBConfig, SparkplugSession, example_config, runner
from junkan.broker import Mosquitto
from tests.devices.mqtt_sources import DriverThread, run_module, sim_venv, weighings
from tests.devices.runner_thread import wait_until

pytestmark = pytest.mark.integration
SIM = "simulators.sparkplug_b"
CONTAINERS = "20:480.5,22.5:505.25,18.75:333.3"


@pytest.fixture(scope="module")
def spb_python() -> Path:
    return sim_venv("sparkplug", "pysparkplug==0.6.1", "pysparkplug")


def config(broker: Mosquitto, **kw: Any) -> SparkplugBConfig:
    data = example_config().model_dump(exclude_none=True)
    data["broker"] = {"host": "127.0.0.1", "port": broker.port}
    return SparkplugBConfig.model_validate({**data, "rebirth_min_interval_s": 0.5, **kw})


def sim(python: Path, broker: Mosquitto, tmp: Path, *args: str) -> subprocess.Popen[str]:
    return run_module(python, SIM, "run", "--port", str(broker.port), "--state", str(tmp / "sim-state.json"),
                      "--log", str(tmp / "sim-log.jsonl"), "--truth", str(tmp / "truth.jsonl"),
                      "--containers", CONTAINERS, "--interval", "0.04", *args)


def truth(tmp: Path) -> list[float]:
    return [json.loads(line)["net_kg"] for line in (tmp / "truth.jsonl").read_text().splitlines()]


def sim_log(tmp: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (tmp / "sim-log.jsonl").read_text().splitlines()]


def test_schema_matches_pysparkplug(spb_python: Path) -> None:
    """Every field junkan declares has the number, type and label of pysparkplug's compiled Tahu schema."""
    script = ("import json; from google.protobuf import descriptor_pb2; from pysparkplug._protobuf import "
              "sparkplug_b_pb2 as p; fd = descriptor_pb2.FileDescriptorProto(); p.DESCRIPTOR.CopyToProto(fd); "
              "top = fd.message_type[0]; ms = [top, *top.nested_type]; "
              "print(json.dumps({m.name: {f.name: [f.number, f.type, f.label] for f in m.field} for m in ms}))")
    out = subprocess.run([str(spb_python), "-c", script], capture_output=True, text=True, check=True).stdout
    theirs = json.loads(out)
    for message, fields in sparkplug_proto.schema_fields().items():
        for name, spec in fields.items():
            assert theirs[message][name] == list(spec), f"{message}.{name}: ours {spec}, Tahu's {theirs[message][name]}"
    assert set(theirs["Metric"]) - set(sparkplug_proto.schema_fields()["Metric"]) == {
        "metadata", "dataset_value", "template_value", "extension_value"}


def test_live_session_weighings_match_truth(spb_python: Path, mosquitto: Mosquitto, tmp_path: Path) -> None:
    with DriverThread(runner(config(mosquitto))) as drv:
        proc = sim(spb_python, mosquitto, tmp_path)
        assert proc.wait(30) == 0
        wait_until(lambda: len(weighings(drv.readings)) >= 3, 5, "three weighings")
        session = drv.runner.source
        assert weighings(drv.readings) == truth(tmp_path) == [480.5, 505.25, 333.3]
        assert drv.runner.counters.frames_bad == 0 and session.seq_gaps == 0
        counters = drv.kinds("counter")
        assert [r.value for r in counters] == [1, 1, 1] and [r.data["total"] for r in counters] == [1, 2, 3]
        assert drv.runner.counters.state(600) == "alive"


def test_death_mid_stream_then_restart(spb_python: Path, mosquitto: Mosquitto, tmp_path: Path) -> None:
    """Killed between tare and gross of the 2nd container: offline + flagged; restart (bdSeq+1) resumes with
    every container weighed once and none invented."""
    with DriverThread(runner(config(mosquitto))) as drv:
        first = sim(spb_python, mosquitto, tmp_path, "--die-at", "15")
        assert first.wait(30) == 3
        wait_until(lambda: drv.events("offline"), 5, "the NDEATH (will)")
        assert drv.runner.counters.state(600) == "error"
        assert "NDEATH (bdSeq 0)" in (drv.runner.counters.last_error or "")
        assert drv.events("offline")[0].status == "error"
        assert weighings(drv.readings) == [480.5]
        second = sim(spb_python, mosquitto, tmp_path)
        assert second.wait(30) == 0
        wait_until(lambda: len(weighings(drv.readings)) >= 3, 5, "the remaining weighings")
        assert weighings(drv.readings) == truth(tmp_path) == [480.5, 505.25, 333.3]
        assert [e.data["bd_seq"] for e in drv.events("online")] == [1]
        assert drv.runner.counters.state(600) == "alive"
        counts = drv.kinds("counter")  # containers counted across the outage: each exactly once
        assert sum(r.value or 0 for r in counts) == 3 and counts[-1].data["total"] == 3


def test_seq_gap_counted_flagged_and_rebirth(spb_python: Path, mosquitto: Mosquitto, tmp_path: Path) -> None:
    with DriverThread(runner(config(mosquitto))) as drv:
        proc = sim(spb_python, mosquitto, tmp_path, "--drop-at", "5")
        assert proc.wait(30) == 0
        wait_until(lambda: len(weighings(drv.readings)) >= 3, 5, "three weighings")
        session: SparkplugSession = drv.runner.source
        assert (session.seq_gaps, session.seq_missed) == (1, 1)
        gap = drv.events("seq_gap")
        assert len(gap) == 1 and gap[0].status == "error" and gap[0].data["missed"] == 1
        assert any(e["what"] == "rebirth" for e in sim_log(tmp_path)), "the driver's NCMD rebirth was not served"
        assert weighings(drv.readings) == truth(tmp_path)


def test_joining_mid_stream_asks_for_rebirth_and_guesses_nothing(spb_python: Path, mosquitto: Mosquitto,
                                                                 tmp_path: Path) -> None:
    """The host connects after the node's BIRTH: it requests a rebirth and decodes nothing before it."""
    proc = sim(spb_python, mosquitto, tmp_path, "--interval", "0.1")
    wait_until(lambda: (tmp_path / "sim-log.jsonl").exists() and
               sum(e["what"] == "data" for e in sim_log(tmp_path)) >= 3, 10, "the node to be mid-stream")
    with DriverThread(runner(config(mosquitto))) as drv:
        wait_until(lambda: any(e["what"] == "rebirth" for e in sim_log(tmp_path)), 5, "a rebirth")
        assert proc.wait(30) == 0
        wait_until(lambda: len(weighings(drv.readings)) >= 2, 5, "weighings after the rebirth")
        log = sim_log(tmp_path)
        rebirth = next(e for e in log if e["what"] == "rebirth" and "DBIRTH" in e["topic"])
        first = drv.kinds("weight")[0]
        assert first.value == rebirth["state"]["w"], "the first weight must come from the BIRTH, not be guessed"
        # The container already filling when the host joined has no tare in sight (the detector takes its
        # first stable value); every container placed after the rebirth is weighed right.
        assert weighings(drv.readings)[1:] == truth(tmp_path)[1:] == [505.25, 333.3]
