"""Run a scenario as a plant in a box: private broker, gateway and agent processes, device simulators.

Every device of the plan is driven through its real driver in the agent: the output scale (MT-SICS on a
PTY), the QC NIR on the output belt (``nir_events_tcp`` JSON lines over TCP), the XRF (``vanta_csv`` rows
streamed over TCP), and (``simulators/plantline/live.py``) the sorter's counters (pymodbus server,
``nir_sorter_modbus``), the conveyor camera (rendered flake belt over MJPEG, ``camera`` + ``conveyor``)
and the ident camera (rendered rating plates over MJPEG, ``camera`` + ``codes``). Faults act on the
devices: scale drift, NIR outage (QC NIR silent, sorter PLC off the network), camera blackout (black
frames), broker restart.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from simulators.plantline.model import (
    EMPTY_S,
    GAP_S,
    PLACE_S,
    REMOVE_S,
    SETTLE_S,
)
from simulators.plantline.offline import lot_id
from simulators.plantline.plan import DEVICES, container_wall_s, line_measurement_params, plan_lots
from simulators.plantline.schema import Scenario


class Adversity:
    """The scenario's adversity faults (issue 15), applied at their scenario times: agent SIGKILL and
    restart, scale link unplugged, sorter PLC restarts, the agent's wall clock stepped (``ClockSteps``),
    busy processes."""

    def __init__(self, scenario: Scenario, agent: Any, balance: Any, devices: Any, log: Any,
                 source: Any = None, clock: ClockSteps | None = None) -> None:
        f = scenario.faults
        self.agent, self.balance, self.devices, self.log, self.source = agent, balance, devices, log, source
        self.source_restarts = sorted(f.scale_restart_at)
        self.restarts, self.resets = sorted(f.agent_restart_at), sorted(f.plc_reset_at)
        self.counter_start = f.plc_counter_start
        self.unplug = sorted(f.scale_unplug)
        self.hogs = sorted(f.cpu_hog)
        self.running_hogs: list[tuple[float, list[subprocess.Popen[bytes]]]] = []
        self.clock = clock
        if f.clock_step and clock is None:
            log(f"fault: clock_step {[s.model_dump() for s in f.clock_step]} NOT applied (no agent clock file)")

    def tick(self, t: float) -> None:
        while self.restarts and t >= self.restarts[0]:
            self.restarts.pop(0)
            self.log(f"fault: SIGKILL the agent at t={t:.0f} s and start it again")
            self.agent.kill()
            self.agent.start()
        while self.source_restarts and t >= self.source_restarts[0]:
            self.source_restarts.pop(0)
            self.log(f"fault: the scale source restarts at t={t:.0f} s")
            if self.source is not None:
                threading.Thread(target=self.source.restart, daemon=True).start()
            elif self.balance is not None:
                self.balance.unplugged.set()
                threading.Timer(2.0, self.balance.unplugged.clear).start()
        while self.resets and t >= self.resets[0]:
            self.resets.pop(0)
            self.log(f"fault: sorter PLC restarts at t={t:.0f} s (counters from {self.counter_start})")
            self.devices.plc.restart(self.counter_start)
        unplugged = any(lo <= t < hi for lo, hi in self.unplug)
        if unplugged and self.balance is None:
            self.log("fault: scale_unplug applies to the MT-SICS scale only; not applied")
            self.unplug = []
        elif self.balance is not None and unplugged != self.balance.unplugged.is_set():
            self.log(f"fault: scale link {'unplugged' if unplugged else 'back'} at t={t:.0f} s")
            (self.balance.unplugged.set if unplugged else self.balance.unplugged.clear)()
        if self.clock is not None:
            self.clock.tick(t, self.log)
        while self.hogs and t >= self.hogs[0][0]:
            _start, end, n = self.hogs.pop(0)
            self.log(f"fault: {n} busy processes until t={end:.0f} s")
            busy = [sys.executable, "-c", "while True: pass"]
            self.running_hogs.append((end, [subprocess.Popen(busy) for _ in range(int(n))]))
        for entry in [e for e in self.running_hogs if t >= e[0]]:
            self._kill(entry[1])
            self.running_hogs.remove(entry)

    def close(self) -> None:
        for _, procs in self.running_hogs:
            self._kill(procs)
        self.running_hogs.clear()

    @staticmethod
    def _kill(procs: list[subprocess.Popen[bytes]]) -> None:
        for p in procs:
            p.kill()
            p.wait(timeout=5)


class ClockSteps:
    """The ``clock_step`` fault: the agent's wall clock, offset through the file its config's
    ``simulation.clock_offset_file`` names (re-read by the agent when it changes; the machine's clock and the
    gateway's are untouched). The agent starts with its clock off by minus the sum of the steps, so after the
    last step it is right: a Pi that booted with an old time, then NTP stepping it. (A clock ahead of the
    gateway by more than its ``max_future_s`` would have its messages refused, as in a plant.)"""

    def __init__(self, scenario: Scenario, path: Path) -> None:
        self.path, self.steps = path, sorted(scenario.faults.clock_step, key=lambda s: s.at)
        self.offset = -sum(s.by_s for s in self.steps)
        self._write()

    def tick(self, t: float, log: Any) -> None:
        while self.steps and t >= self.steps[0].at:
            step = self.steps.pop(0)
            self.offset += step.by_s
            self._write()
            log(f"fault: the agent's wall clock steps by {step.by_s:+.0f} s at t={t:.0f} s "
                f"(offset now {self.offset:+.0f} s)")

    def _write(self) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(f"{self.offset}\n", encoding="utf-8")
        os.replace(tmp, self.path)  # the agent sees the old offset or the new one, never half a file


def line_config(scenario: Scenario, path: Path, live_devices: list[dict[str, Any]],
                scale_device: dict[str, Any] | None = None, clock_offset_file: Path | None = None) -> Path:
    params = line_measurement_params(scenario, seconds_per_wall_s=1.0)
    config = {
        "site": "sim-plant", "line": scenario.line, "agent": f"agent-{scenario.line}",
        "mqtt": {"host": "127.0.0.1", "port": 1883},
        "outbox": {"path": "outbox.db", "ack_timeout_s": 5, "batch_size": 100},
        "lots": {"max_mass_kg": 5000, "max_duration_s": 28800, "auto_open": True, "zero_band_kg": 0.5,
                 "telemetry_interval_s": 1.0,
                 # time runs `speed` times faster: a container swap takes a few wall seconds here, so a second
                 # of silence is already a gap and nothing is resumed across one
                 "frame_gap_s": 1.0, "resume_max_gap_s": 1.0},
        "measurement": params.model_dump(),
        "devices": [
            scale_device or
            {"name": DEVICES["scale"], "type": "mt_sics", "port": {"url": "/dev/null"}, "poll_command": "SI",
             "poll_interval_s": 0.1, "division_kg": 0.02, "stable_frames": 3,
             # operators keying the tare: ask the balance for its tare with every poll (readings say net)
             "query_tare": scenario.faults.tare_key_share > 0},
            {"name": DEVICES["qc_nir"], "type": "nir_events_tcp", "port": {"url": "socket://127.0.0.1:1"}},
            {"name": DEVICES["xrf"], "type": "vanta_csv", "port": {"url": "socket://127.0.0.1:1"}},
            *live_devices,
        ],
    }
    if clock_offset_file is not None:  # simulation only: the agent refuses it outside a simulated plant
        config["simulation"] = {"clock_offset_file": str(clock_offset_file)}
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def n_lots_for(scenario: Scenario, duration_s: float) -> int:
    per_lot = 2 * GAP_S + EMPTY_S + scenario.lots.containers[1] * container_wall_s(scenario)
    return max(1, int(duration_s / per_lot) + 1)


UNTIL_STOPPED_LOTS = 60  # `--duration 0`: lots planned up front (about 26 wall s each; planning ~0.15 s a lot)


def run_scenario(scenario: Scenario, seed: int, duration_s: float, workdir: Path, log: Any = print,
                 record_process: bool = True, api_port: int | None = None,
                 on_ready: Callable[[Any], None] | None = None,
                 on_finish: Callable[[Any], None] | None = None) -> list[dict]:
    """Run the line; with ``record_process`` the MES records intake and steps of every closed lot.

    ``duration_s`` 0 runs until the plant's stop event is set (or the process is interrupted). The plant's
    signing keys are made before the gateway starts, so every evidence format (JWS too) downloads during the
    run. ``on_ready(plant)`` is called once the agent is online (the demo starts its lot printer there),
    ``on_finish(plant)`` after the last lot reached the gateway, before the plant stops."""
    from gateway.evidence.keys import write_plant_public_key
    from junkan.demo import fresh_workdir
    from junkan.plant import Plant
    from simulators.commands.scale import rest_operator
    from simulators.plantline.live import LiveDevices
    from simulators.plantline.mes import Mes
    from simulators.plantline.scale_sources import make_scale_source
    from simulators.pty_port import PtyPort
    from simulators.scales.mt_sics import MtSicsDevice
    from simulators.scales.platform import PlatformScale
    from simulators.tcp_port import TcpServerPort
    from simulators.xrf.samples import XrfSample
    from simulators.xrf.vanta_csv import vanta_header, vanta_row

    fresh_workdir(workdir)
    n_lots = n_lots_for(scenario, duration_s) if duration_s > 0 else UNTIL_STOPPED_LOTS
    plans = plan_lots(scenario, seed, n_lots)
    devices = LiveDevices(scenario, plans, seed)
    scale = PlatformScale(seed=seed)
    source = make_scale_source(scenario.scale_source, scale, Path(workdir))  # None: the MT-SICS balance
    clock = ClockSteps(scenario, Path(workdir) / "agent-clock-offset") if scenario.faults.clock_step else None
    plant = Plant(workdir, line_config=line_config(scenario, Path(workdir) / "line.yaml", devices.agent_devices(),
                                                   source.device(DEVICES["scale"]) if source else None,
                                                   clock.path if clock else None),
                  api_port=api_port, die_with_parent=True)
    write_plant_public_key(workdir)  # keys/ beside gateway.db before the gateway starts: JWS works at once
    pty, nir_port, xrf_port = PtyPort(), TcpServerPort(), TcpServerPort()
    scale.drift_kg_per_s = scenario.faults.scale_drift_kg_per_s * scenario.speed  # per scenario s -> per wall s
    truth: list[dict] = []
    truth_path = Path(workdir) / "truth.jsonl"
    stop = plant.stop_event
    sp = scenario.speed
    mes = Mes(plant.api, scenario, seed, Path(workdir), log) if record_process else None
    faults = scenario.faults
    tare_rng = random.Random(seed * 7919 + 1)
    devices.counters.counter_offset = faults.plc_counter_start  # where the PLC's counters stand at boot

    def play_events(t0: float) -> None:
        events = sorted(((e.t, e) for p in plans for e in p.events), key=lambda x: x[0])
        for t, e in events:
            if stop.wait(max(0.0, t0 + t / sp - time.monotonic())):
                return
            devices.on_event(e)
            if e.device == "qc_nir":
                d = e.data
                nir_port.write((json.dumps({"class": d["polymer"], "confidence": d["confidence"],
                                            "size_mm": d["size_mm"]}) + "\n").encode())
            elif e.device == "xrf":
                ppm = {el: v["ppm"] for el, v in e.data["elements"].items()}
                err = {el: v["error"] for el, v in e.data["elements"].items()}
                sample = XrfSample(e.data["reading_no"], {**dict.fromkeys(("Sb",)), **ppm},
                                   {**{"Sb": 1.0}, **err})
                xrf_port.write((vanta_header() + vanta_row(sample, zero_nondetects=faults.xrf_zero_nondetects)
                                ).encode())

    def play_scale(t0: float, operator: Any) -> None:
        for plan in plans:
            lid = lot_id(scenario, seed, plan.lot_no)
            if stop.wait(max(0.0, t0 + plan.start / sp - time.monotonic())):
                return
            operator("open", lid)
            for c in plan.containers:
                if stop.wait(max(0.0, t0 + c.fill_start / sp - (PLACE_S + SETTLE_S) - time.monotonic())):
                    return
                keyed = tare_rng.random() < faults.tare_key_share  # the operator tares this one on the indicator
                steps = [(c.tare_kg * 0.5, True, PLACE_S, None),
                         (c.tare_kg, False, SETTLE_S, "tare" if keyed else None)]
                fill_wall = (c.fill_end - c.fill_start) / sp
                steps += [(c.tare_kg + c.net_kg * i / 10, True, fill_wall / 10, None) for i in range(1, 11)]
                steps += [(c.tare_kg + c.net_kg, False, SETTLE_S, None),
                          ((c.tare_kg + c.net_kg) * 0.4, True, REMOVE_S, "clear" if keyed else None),
                          (0.0, False, EMPTY_S, None)]
                for load, moving, secs, key in steps:
                    scale.set(load_kg=load, moving=moving)
                    if stop.wait(secs):
                        return
                    if key == "tare":
                        scale.tare()
                    elif key == "clear":
                        scale.clear_tare()
            if stop.wait(max(0.0, t0 + plan.end / sp - GAP_S - time.monotonic())):
                return
            operator("close", lid)
            record = {"lot_id": lid, "line": scenario.line, "scenario": scenario.name, "seed": seed, **plan.truth}
            truth.append(record)
            with truth_path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(record) + "\n")
            log(f"lot {lid} closed (true net {record['net_mass_kg']:.2f} kg)")
            if mes is not None:
                mes.lot_closed(plan)
        if duration_s <= 0:
            log(f"all {len(plans)} planned lots played; the plant stays up until stopped")

    try:
        plant.start_broker()
        plant.start_gateway()
        if mes is not None:
            mes.import_compositions()
            mes.start()
        balance = MtSicsDevice(scale, pty, seed=seed) if source is None else None
        if balance is not None:
            threading.Thread(target=balance.serve, args=(stop,), daemon=True).start()
        else:
            assert source is not None
            overrides = source.overrides(0, plant.broker.port)  # the scale is the line's first device
            source.start(stop)
            log(f"scale over {scenario.scale_source}")
        for port in (nir_port, xrf_port):  # accept the agent's connection; the device never reads
            threading.Thread(target=_drain, args=(port, stop), daemon=True).start()
        devices.start()
        ports = {DEVICES["qc_nir"]: nir_port.url, DEVICES["xrf"]: xrf_port.url}
        if source is None:
            ports[DEVICES["scale"]] = pty.path
        config = plant.agent_config(ports, overrides=None if source is None else overrides)
        agent = plant.start_agent(config)
        plant.wait_agent_online(f"agent-{scenario.line}")
        log(f"API {plant.api}/docs  broker port {plant.broker.port}  folder {plant.workdir}")
        if on_ready is not None:
            on_ready(plant)
        time.sleep(1.0)  # let the TCP devices accept the agent's connections
        t0 = time.monotonic()
        devices.schedule(t0)
        threads = [threading.Thread(target=play_events, args=(t0,), daemon=True),
                   threading.Thread(target=play_scale, args=(t0, rest_operator(plant.api, scenario.line)),
                                    daemon=True)]
        for th in threads:
            th.start()
        restart_at = scenario.faults.broker_restart_at
        adversity = Adversity(scenario, agent, balance, devices, log, source, clock)
        deadline = t0 + duration_s if duration_s > 0 else float("inf")
        try:
            while time.monotonic() < deadline and not stop.is_set():
                stop.wait(0.5)
                devices.tick(time.monotonic() - t0, log)
                adversity.tick((time.monotonic() - t0) * sp)
                if restart_at is not None and time.monotonic() - t0 >= restart_at / sp:
                    log("fault: restarting the broker")
                    plant.broker.restart()
                    restart_at = None
        finally:
            adversity.close()
        stop.set()
        for th in threads:
            th.join(timeout=10)
        log(f"live devices: {devices.summary()}")
        expected = {t["lot_id"] for t in truth}
        try:
            plant.wait_for(lambda: expected <= {lot["lot_id"] for lot in
                                                plant.get("/api/v1/lots?status=closed&limit=1000")},
                           60, "every closed lot at the gateway")
        except TimeoutError as exc:
            log(f"warning: {exc}")
        if mes is not None:
            mes.finish()
            log(f"process records: {len(mes.recorded)} lots recorded at the gateway"
                + (f", {len(mes.failed)} failed: {sorted(mes.failed)}" if mes.failed else ""))
        if on_finish is not None:
            on_finish(plant)
    finally:
        plant.stop()
        devices.close()
        if source is not None:
            source.close()
        pty.close()
        for port in (nir_port, xrf_port):
            port.close()
    return truth


def _drain(port: Any, stop: threading.Event) -> None:
    while not stop.is_set():
        port.read(0.1)
