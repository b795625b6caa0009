"""The line's Modbus sorter and both cameras as live devices, fed from the plans (whole-line runner).

- Sorter PLC (``nir-sorter``): the pymodbus simulator server of ``simulators/nir_sorter_modbus.py`` on a free
  loopback port, its counters advanced by the plan's ``nir_counts`` events (one channel per detected class,
  ``unknown`` = NIR-blind), read by the ``nir_sorter_modbus`` driver. NIR outage: the PLC drops off the
  network for the outage window (``SorterPlc.stop``/``start``), as ``simulators/nir_sorter_modbus.py`` does.
- Conveyor camera (``cam-out``): the plan's representative flakes (``sim.flakes`` of the camera events,
  at their arrival time) rendered on a belt (``simulators/camera/live.FlakeBelt``), served as MJPEG over
  HTTP and read by the ``camera`` driver with the ``conveyor`` analyzer. Camera blackout: black frames.
- Ident camera (``cam-ident``): one rating plate per read product (``sim.in_view`` of the ident events),
  the model in AI 8013 of a QR / DataMatrix GS1 code, read by the ``camera`` driver's ``codes`` analyzer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from simulators.plantline.model import Event, LotPlan
from simulators.plantline.plan import DEVICES
from simulators.plantline.schema import Scenario

BELT_FPS, IDENT_FPS = 12.0, 15.0


def sorter_channels(plans: list[LotPlan]) -> list[str]:
    """Detected classes over the run, in a fixed order (the PLC's channel programs)."""
    names = {k for p in plans for e in p.events if e.device == "sorter" for k in e.data["counts"]}
    return [*sorted(names - {"unknown"}), "unknown"]


class LiveDevices:
    def __init__(self, scenario: Scenario, plans: list[LotPlan], seed: int) -> None:
        from junkan.core.net import free_port
        from simulators.camera.live import FlakeBelt, PlateStation
        from simulators.nir_sorter_modbus import SorterPlc, SorterScenario

        self.scenario, self.plans, self.stop = scenario, plans, threading.Event()
        self._streams: list[threading.Thread] = []
        self.channels = sorter_channels(plans)
        self.counters = SorterScenario(channels=self.channels, mix=[1.0] * len(self.channels), objects_per_s=0.0,
                                       seed=seed)
        self.sorter_port, self.belt_port, self.ident_port = free_port(), free_port(), free_port()
        self.plc = SorterPlc(self.counters, self.sorter_port)
        self.belt, self.station = FlakeBelt(seed), PlateStation(seed)
        self.outage_state = "before"
        self.sent: dict[str, int] = {"sorter_events": 0}

    def agent_devices(self) -> list[dict[str, Any]]:
        """The three devices' entries for the agent's line config."""
        sp = self.scenario.speed
        interval = self.scenario.sensors.camera_interval_s / sp
        # The plausibility bound of the sorter's counters, in wall seconds: the plan's peak rate, time-compressed,
        # with room for two of its chunks landing in one poll.
        peak = max((v / max(float(e.data["interval_s"]), 1e-3) for plan in self.plans for e in plan.events
                    if e.device == "sorter" for counts in (e.data["counts"], e.data["ejections"])
                    for v in counts.values()), default=0.0)
        return [
            {"name": DEVICES["sorter"], "type": "nir_sorter_modbus",
             "modbus": {"host": "127.0.0.1", "port": self.sorter_port, "timeout_s": 1.0},
             "channels": self.channels, "interval_s": interval, "max_rate_per_s": max(10_000.0, 3 * peak) * sp,
             "uptime_register": self.counters.uptime_register},
            {"name": DEVICES["camera"], "type": "camera", "source": f"http://127.0.0.1:{self.belt_port}/stream.mjpg",
             "max_fps": BELT_FPS, "no_frame_timeout_s": 3.0, "analyzers": ["conveyor"],
             "conveyor": {"interval_s": interval, "min_area_px": 60.0, "max_jump_px": 80.0}},
            {"name": DEVICES["ident"], "type": "camera", "source": f"http://127.0.0.1:{self.ident_port}/stream.mjpg",
             "max_fps": IDENT_FPS, "no_frame_timeout_s": 3.0, "analyzers": ["codes"],
             "codes": {"formats": ["qr", "datamatrix"]}, "repeat_after_s": 30.0},
        ]

    def start(self) -> None:
        """PLC and both MJPEG streams; call before the agent starts."""
        from simulators.camera.video import serve_mjpeg

        self.plc.start()
        for renderer, port, fps in ((self.belt, self.belt_port, BELT_FPS), (self.station, self.ident_port, IDENT_FPS)):
            thread = threading.Thread(target=serve_mjpeg, args=(_frames(renderer, self.stop), port, fps, self.stop),
                                      daemon=True, name=f"mjpeg-{port}")
            thread.start()
            self._streams.append(thread)

    def schedule(self, t0: float) -> None:
        """Put every flake and plate of the run on the wall clock (``t0`` = scenario time 0)."""
        sp, f = self.scenario.speed, self.scenario.faults
        flakes: list[tuple[float, float, bool]] = []
        plates: list[tuple[float, float, str, str]] = []
        for plan in self.plans:
            for e in plan.events:
                if e.device == "camera":
                    flakes += [(t0 + t / sp, size, dark) for t, size, dark in e.sim.get("flakes", [])]
                elif e.device == "ident":
                    lo, hi = e.sim["in_view"]
                    model = e.data["model_candidates"][0]["model"]
                    plates.append((t0 + lo / sp, t0 + hi / sp, model, f"P{plan.lot_no:03d}{len(plates):05d}"))
        if f.camera_blackout:
            self.belt.blackout = (t0 + f.camera_blackout[0] / sp, t0 + f.camera_blackout[1] / sp)
        # Camera events inside the blackout were dropped by the plan (their flakes are not scheduled); the
        # frames are black then anyway.
        self.belt.schedule(flakes)
        self.station.schedule(plates)

    def on_event(self, e: Event) -> None:
        """The sorter's counters advance by the plan's interval counts (cameras are scheduled up front)."""
        if e.device != "sorter":
            return
        with self.plc.lock:
            for k, v in e.data["counts"].items():
                self.counters.totals[k] = self.counters.totals.get(k, 0) + int(v)
            for k, v in e.data["ejections"].items():
                self.counters.ejected[k] = self.counters.ejected.get(k, 0) + int(v)
        self.sent["sorter_events"] += 1

    def tick(self, elapsed_wall: float, log: Any) -> None:
        """Faults that act on the devices themselves: the sorter PLC off the network during the NIR outage."""
        outage = self.scenario.faults.nir_outage
        if outage is None:
            return
        t = elapsed_wall * self.scenario.speed
        if self.outage_state == "before" and t >= outage[0]:
            log("fault: NIR outage (sorter PLC off the network, QC NIR silent)")
            self.plc.stop()
            self.outage_state = "during"
        elif self.outage_state == "during" and t >= outage[1]:
            log("fault: NIR outage over")
            self.plc.start()
            self.outage_state = "after"

    def close(self) -> None:
        """Stop and join the streams: a daemon thread still inside OpenCV when the interpreter exits can
        abort the process ("terminate called without an active exception", seen once in CI-like runs)."""
        self.stop.set()
        self.plc.stop()
        for thread in self._streams:
            thread.join(timeout=5)

    def summary(self) -> dict[str, int]:
        return {"flakes_shown": self.belt.shown, "dark_flakes_shown": self.belt.shown_dark,
                "plates_scheduled": len(self.station.plates), **self.sent}


def _frames(renderer: Any, stop: threading.Event) -> Iterator[tuple[np.ndarray, dict[str, Any]]]:
    while not stop.is_set():
        yield renderer.frame(time.monotonic()), {}
