"""Frames rendered for *now* from a wall-clock schedule: a flake belt and a rating-plate station.

The whole-line runner (``simulators/plantline/live.py``) schedules what is in view and serves these
frames as MJPEG; the agent's ``camera`` driver reads them like any IP camera. Positions follow the wall
clock, so a frame the driver skips only makes objects move further between the frames it analyses.
"""

from __future__ import annotations

import math
import random
import threading
from bisect import bisect_right
from dataclasses import dataclass

import cv2
import numpy as np

from simulators.camera.conveyor import BELT_BGR, COLOURS
from simulators.camera.nameplate import model_plate_frame

LIGHT = [c for name, c in COLOURS.items() if name != "black"]
DARK = COLOURS["black"]
GAP_PX = 8  # clearance kept between flakes: touching flakes would merge into one blob


class _Noise:
    """A few precomputed sensor-noise frames, cycled (fresh Gaussian noise per frame costs ~10 ms)."""

    def __init__(self, shape: tuple[int, int, int], seed: int, n: int = 8) -> None:
        rng = np.random.default_rng(seed)
        self.frames = [rng.normal(0, 3, shape).astype(np.int16) for _ in range(n)]
        self.i = 0

    def add(self, frame: np.ndarray) -> np.ndarray:
        self.i = (self.i + 1) % len(self.frames)
        return np.clip(frame.astype(np.int16) + self.frames[self.i], 0, 255).astype(np.uint8)


@dataclass
class _Flake:
    spawn: float  # wall time its centre was at x = -radius
    y: float
    w: float
    h: float
    angle: float
    colour: tuple[int, int, int]

    @property
    def radius(self) -> float:
        return math.hypot(self.w, self.h) / 2


class FlakeBelt:
    """Flakes (size in mm, dark or not) entering at their scheduled wall time, moving right at belt speed.

    A flake is drawn as a rectangle of size x 0.7 size (the plan's shape factor), so blob areas follow
    size^2. A flake that finds no clear spot at its time waits for one (the belt is never over-packed at
    the plan's rate). ``blackout`` is a window of wall time with the lens covered (flat black frames).
    """

    def __init__(self, seed: int, width: int = 640, height: int = 480, px_per_mm: float = 1.5,
                 speed_px_s: float = 240.0) -> None:
        self.width, self.height, self.px_per_mm, self.speed = width, height, px_per_mm, speed_px_s
        self.top, self.bottom = int(height * 0.1), int(height * 0.9)
        self.rng = random.Random(seed)
        self.pending: list[tuple[float, float, bool]] = []  # (wall t, size mm, dark), sorted by t
        self.flakes: list[_Flake] = []
        self.blackout: tuple[float, float] | None = None
        self.lock = threading.Lock()
        self.base = np.full((height, width, 3), 30, np.uint8)
        self.base[self.top:self.bottom] = BELT_BGR
        self.noise = _Noise(self.base.shape, seed)
        self.shown = self.shown_dark = 0

    def schedule(self, flakes: list[tuple[float, float, bool]]) -> None:
        with self.lock:
            self.pending = sorted(self.pending + flakes)

    def _x(self, f: _Flake, now: float) -> float:
        return -f.radius + (now - f.spawn) * self.speed

    def _place(self, size_mm: float, dark: bool, now: float) -> _Flake | None:
        w = size_mm * self.px_per_mm
        f = _Flake(now, 0.0, w, 0.7 * w, self.rng.uniform(0, 180), DARK if dark else self.rng.choice(LIGHT))
        for _ in range(12):
            f.y = self.rng.uniform(self.top + f.radius + 2, self.bottom - f.radius - 2)
            if all(abs(self._x(o, now) + f.radius) > o.radius + f.radius + GAP_PX
                   or abs(o.y - f.y) > o.radius + f.radius + GAP_PX for o in self.flakes):
                return f
        return None

    def frame(self, now: float) -> np.ndarray:
        if self.blackout and self.blackout[0] <= now < self.blackout[1]:
            return np.zeros_like(self.base)
        with self.lock:
            due = bisect_right([p[0] for p in self.pending], now)
            waiting = []
            for t, size, dark in self.pending[:due]:
                f = self._place(size, dark, now)
                if f is None:
                    waiting.append((t, size, dark))
                    continue
                self.flakes.append(f)
                self.shown += 1
                self.shown_dark += dark
            self.pending = waiting + self.pending[due:]
        self.flakes = [f for f in self.flakes if self._x(f, now) - f.radius < self.width + 10]
        img = self.base.copy()
        for f in self.flakes:
            box = cv2.boxPoints(((self._x(f, now), f.y), (f.w, f.h), f.angle)).astype(np.int32)
            cv2.fillPoly(img, [box], f.colour, cv2.LINE_AA)
        return self.noise.add(img)


class PlateStation:
    """The dismantling station's ident camera: each scheduled plate is in view during its window."""

    def __init__(self, seed: int, size: tuple[int, int] = (960, 540)) -> None:
        self.seed, self.size = seed, size
        self.rng = random.Random(seed)
        self.plates: list[tuple[float, float, str, str]] = []  # (from, to, model, serial), sorted
        self.cache: dict[int, np.ndarray] = {}
        self.lock = threading.Lock()
        bg = np.empty((size[1], size[0], 3), np.uint8)
        bg[:] = (70, 80, 90)
        self.empty = bg
        self.noise = _Noise(bg.shape, seed)

    def schedule(self, plates: list[tuple[float, float, str, str]]) -> None:
        with self.lock:
            self.plates = sorted(self.plates + plates)

    def _render(self, i: int) -> np.ndarray:
        if i not in self.cache:
            _t0, _t1, model, serial = self.plates[i]
            code = "qr" if (self.seed + i) % 2 else "datamatrix"
            self.cache[i] = model_plate_frame(model, serial, self.seed * 100_003 + i, code, size=self.size)[0]
            for old in [k for k in self.cache if k < i - 2]:
                del self.cache[old]
        return self.cache[i]

    def frame(self, now: float) -> np.ndarray:
        with self.lock:
            i = bisect_right([p[0] for p in self.plates], now) - 1
            if i + 1 < len(self.plates):
                self._render(i + 1)  # render ahead: a plate may be in view for only a few frames
            if i >= 0 and now < self.plates[i][1]:
                return self._render(i)
        return self.noise.add(self.empty)
