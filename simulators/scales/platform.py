"""A platform scale under a chute, and the plant process that loads it, with ground truth.

The physics (what load is on the platform, whether it is moving) is protocol-free; protocol modules
encode ``PlatformScale.reading()`` into their frames. The scenario places containers, fills them,
removes them, and calls the operator hook to open/close lots, writing the truth per lot as JSON lines.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

Status = Literal["ok", "overload", "underload"]


@dataclass(frozen=True)
class ScaleReading:
    """What the indicator displays: gross or net (after tare), in kg, rounded to the division; ``tare_kg`` is
    the tare keyed on the indicator (0 in gross mode)."""

    value_kg: float
    stable: bool
    status: Status
    net: bool
    tare_kg: float = 0.0


class PlatformScale:
    def __init__(self, division_kg: float = 0.02, capacity_kg: float = 600.0, seed: int = 1,
                 noise_divisions: float = 0.25) -> None:
        self.division_kg, self.capacity_kg = division_kg, capacity_kg
        self.noise_divisions = noise_divisions
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.load_kg = 0.0  # true load on the platform
        self.moving = False
        self.zero_offset_kg = 0.0
        self.tare_kg = 0.0
        self.drift_kg_per_s = 0.0  # fault injection: slow zero drift
        self._t0 = time.monotonic()

    def set(self, load_kg: float | None = None, moving: bool | None = None) -> None:
        with self._lock:
            if load_kg is not None:
                self.load_kg = load_kg
            if moving is not None:
                self.moving = moving

    def _gross(self) -> float:
        drift = self.drift_kg_per_s * (time.monotonic() - self._t0)
        return self.load_kg + drift - self.zero_offset_kg

    def reading(self) -> ScaleReading:
        with self._lock:
            gross = self._gross()
            net, tare = self.tare_kg > 0, self.tare_kg
            if gross > self.capacity_kg:
                return ScaleReading(0.0, False, "overload", net, tare)
            if gross < -0.02 * self.capacity_kg:
                return ScaleReading(0.0, False, "underload", net, tare)
            d = self.division_kg
            if self.moving:
                shown = gross + self._rng.uniform(-40, 40) * d
                return ScaleReading(round(round((shown - tare) / d) * d, 6), False, "ok", net, tare)
            shown = gross + self._rng.gauss(0, self.noise_divisions * d)
            return ScaleReading(round(round((shown - tare) / d) * d, 6), True, "ok", net, tare)

    def tare(self) -> float | None:
        """Tare on a stable load; returns the tare value or None when moving."""
        with self._lock:
            if self.moving:
                return None
            d = self.division_kg
            self.tare_kg = round(round(self._gross() / d) * d, 6)
            return self.tare_kg

    def clear_tare(self) -> None:
        with self._lock:
            self.tare_kg = 0.0

    def zero(self) -> bool:
        with self._lock:
            if self.moving or abs(self._gross()) > 0.02 * self.capacity_kg:
                return False
            self.zero_offset_kg += self._gross()
            return True


OperatorHook = Callable[[str, str], None]  # (action "open"|"close", lot_id)


@dataclass
class ContainerScenario:
    """Lots of ``containers_per_lot`` containers: place, settle, fill, settle, remove."""

    line: str = "line-1"
    lots: int = 1_000_000
    containers_per_lot: tuple[int, int] = (2, 2)
    container_tare_kg: tuple[float, float] = (28.0, 36.0)
    fill_kg: tuple[float, float] = (80.0, 260.0)
    speed: float = 1.0  # >1 compresses time
    seed: int = 1
    tare_key_share: float = 0.0  # share of containers the operator tares on the indicator (net mode)
    place_s: float = 0.6
    settle_s: float = 1.2
    fill_s: float = 3.0
    remove_s: float = 0.5
    empty_s: float = 1.6
    gap_s: float = 1.0
    truth: list[dict[str, Any]] = field(default_factory=list)

    def run(self, scale: PlatformScale, stop: threading.Event, operator: OperatorHook | None = None,
            truth_path: Path | None = None) -> None:
        rng = random.Random(self.seed)
        for lot_no in range(1, self.lots + 1):
            lot_id = f"{self.line}-L{self.seed:03d}-{lot_no:04d}"
            opened_at = datetime.now(UTC)
            if operator:
                operator("open", lot_id)
            if self._sleep(stop, self.gap_s):
                return
            containers = []
            for c in range(rng.randint(*self.containers_per_lot)):
                tare = round(rng.uniform(*self.container_tare_kg), 3)
                fill = round(rng.uniform(*self.fill_kg), 3)
                if self._container(scale, stop, tare, fill, rng.random() < self.tare_key_share):
                    return  # stopped mid-lot: this lot has no truth (it was not completed)
                containers.append({"container": c + 1, "tare_kg": tare, "net_kg": fill})
            if self._sleep(stop, self.empty_s):
                return
            if operator:
                operator("close", lot_id)
            net = round(sum(c["net_kg"] for c in containers), 3)
            record = {"lot_id": lot_id, "line": self.line, "net_mass_kg": net,
                      "n_containers": len(containers), "containers": containers,
                      "opened_at": opened_at.isoformat(), "closed_at": datetime.now(UTC).isoformat()}
            self.truth.append(record)
            if truth_path:
                with truth_path.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(record) + "\n")
            if self._sleep(stop, self.gap_s):
                return

    def _container(self, scale: PlatformScale, stop: threading.Event, tare: float, fill: float,
                   tare_key: bool = False) -> bool:
        """Place, settle, fill, settle, remove. ``tare_key``: the operator tares the settled empty container
        on the indicator (net mode until the tare is cleared with the platform empty again)."""
        scale.set(load_kg=tare * 0.5, moving=True)
        if self._sleep(stop, self.place_s):
            return True
        scale.set(load_kg=tare, moving=False)
        if self._sleep(stop, self.settle_s):
            return True
        if tare_key:
            scale.tare()
            if self._sleep(stop, self.settle_s):
                return True
        steps = 10
        for i in range(1, steps + 1):  # material falls in: the platform is in motion while filling
            scale.set(load_kg=tare + fill * i / steps, moving=True)
            if self._sleep(stop, self.fill_s / steps):
                return True
        scale.set(load_kg=tare + fill, moving=False)
        if self._sleep(stop, self.settle_s):
            return True
        scale.set(load_kg=(tare + fill) * 0.4, moving=True)
        if self._sleep(stop, self.remove_s):
            return True
        scale.set(load_kg=0.0, moving=False)
        if tare_key:  # the display shows -tare until the operator clears it
            if self._sleep(stop, self.empty_s / 2):
                return True
            scale.clear_tare()
            return self._sleep(stop, self.empty_s / 2)
        return self._sleep(stop, self.empty_s)

    def _sleep(self, stop: threading.Event, seconds: float) -> bool:
        return stop.wait(seconds / self.speed)
