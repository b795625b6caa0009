"""A rendered conveyor belt carrying objects of known class and colour, with per-frame ground truth.

Objects enter at the left, move right at belt speed (± jitter) and are counted in the truth when their
centre crosses the middle of the frame, the same rule the analyzer uses. Objects never overlap (a real
limit of this simulator: touching objects on a real belt merge into one blob).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

CLASSES = ("bottle", "tray", "cap", "film")
COLOURS: dict[str, tuple[int, int, int]] = {  # BGR
    "clear": (205, 210, 210),
    "white": (235, 235, 235),
    "blue": (170, 90, 30),
    "green": (60, 150, 40),
    "red": (40, 40, 190),
    "yellow": (40, 200, 220),
    "black": (22, 22, 24),
}
DARK_COLOURS = frozenset({"black"})
BELT_BGR = (92, 104, 98)


@dataclass
class BeltObject:
    oid: int
    cls: str
    colour: str
    x: float
    y: float
    w: int
    h: int
    angle: float
    speed: float
    counted: bool = False

    @property
    def dark(self) -> bool:
        return self.colour in DARK_COLOURS

    def extent(self) -> tuple[float, float]:
        """Half width/height of the axis-aligned box around the rotated shape."""
        c, s = abs(math.cos(math.radians(self.angle))), abs(math.sin(math.radians(self.angle)))
        if self.cls in ("bottle", "cap"):  # ellipse
            a, b = self.w / 2, self.h / 2
            return math.sqrt((a * c) ** 2 + (b * s) ** 2), math.sqrt((a * s) ** 2 + (b * c) ** 2)
        return (self.w * c + self.h * s) / 2, (self.w * s + self.h * c) / 2

    def truth(self) -> dict[str, Any]:
        ex, ey = self.extent()
        return {
            "id": self.oid,
            "cls": self.cls,
            "colour": self.colour,
            "dark": self.dark,
            "bbox": [round(self.x - ex), round(self.y - ey), round(2 * ex), round(2 * ey)],
        }


@dataclass
class ConveyorScene:
    """Belt state; ``step()`` renders the next frame and returns it with its truth record."""

    width: int = 640
    height: int = 360
    fps: float = 10.0
    belt_speed_px: float = 14.0
    rate_per_s: float = 2.0
    dark_share: float = 0.2
    seed: int = 0
    objects: list[BeltObject] = field(default_factory=list)
    frame_no: int = 0
    next_id: int = 1
    counted: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.np_rng = np.random.default_rng(self.seed)
        top, bottom = int(self.height * 0.1), int(self.height * 0.9)
        self.belt = (top, bottom)

    def _spawn(self) -> None:
        r = self.rng
        cls = r.choice(CLASSES)
        size = {"bottle": (90, 36), "tray": (70, 55), "cap": (22, 22), "film": (60, 45)}[cls]
        w = int(size[0] * r.uniform(0.8, 1.25))
        h = int(size[1] * r.uniform(0.8, 1.25))
        colour = "black" if r.random() < self.dark_share else r.choice([c for c in COLOURS if c != "black"])
        top, bottom = self.belt
        span = math.hypot(w, h) / 2 + 4
        y = r.uniform(top + span, bottom - span)
        candidate = BeltObject(
            self.next_id, cls, colour, -span, y, w, h, r.uniform(0, 180), self.belt_speed_px * r.uniform(0.97, 1.03)
        )
        for o in self.objects:  # keep a gap: no overlap now or later (speeds differ by < 6 %)
            if abs(o.y - y) < (math.hypot(o.w, o.h) + math.hypot(w, h)) / 2 + 6 and o.x < span * 2 + 120:
                return
        self.objects.append(candidate)
        self.next_id += 1

    def _draw(self, frame: np.ndarray, o: BeltObject) -> None:
        colour = COLOURS[o.colour]
        centre = (round(o.x), round(o.y))
        if o.cls == "bottle" or o.cls == "cap":
            cv2.ellipse(frame, centre, (o.w // 2, o.h // 2), o.angle, 0, 360, colour, -1, cv2.LINE_AA)
            if o.cls == "bottle":  # label band
                band = tuple(max(0, c - 40) for c in colour)
                cv2.ellipse(frame, centre, (o.w // 6, o.h // 2), o.angle, 0, 360, band, -1, cv2.LINE_AA)
        else:
            box = cv2.boxPoints(((o.x, o.y), (o.w, o.h), o.angle)).astype(np.int32)
            if o.cls == "film":  # crumpled outline
                box = box + self.np_rng.integers(-5, 6, box.shape).astype(np.int32)
            cv2.fillPoly(frame, [box], colour, cv2.LINE_AA)

    def step(self) -> tuple[np.ndarray, dict[str, Any]]:
        if self.rng.random() < self.rate_per_s / self.fps:
            self._spawn()
        line = self.width / 2
        crossed = []
        for o in self.objects:
            before = o.x
            o.x += o.speed
            if before < line <= o.x and not o.counted:
                o.counted = True
                self.counted += 1
                crossed.append({"id": o.oid, "cls": o.cls, "dark": o.dark, "area": round(self._area(o))})
        self.objects = [o for o in self.objects if o.x - o.w < self.width + 40]
        frame = np.zeros((self.height, self.width, 3), np.uint8)
        frame[:] = (30, 30, 30)
        top, bottom = self.belt
        frame[top:bottom] = BELT_BGR
        for o in self.objects:
            self._draw(frame, o)
        noise = self.np_rng.normal(0, 3, frame.shape)
        frame = np.clip(frame + noise, 0, 255).astype(np.uint8)
        truth = {
            "frame": self.frame_no,
            "t": round(self.frame_no / self.fps, 3),
            "objects": [o.truth() for o in self.objects if -o.w < o.x < self.width + o.w],
            "crossed": crossed,
            "count_total": self.counted,
        }
        self.frame_no += 1
        return frame, truth

    @staticmethod
    def _area(o: BeltObject) -> float:
        if o.cls in ("bottle", "cap"):
            return math.pi * o.w * o.h / 4
        return float(o.w * o.h)

    def frames(self, n: int) -> Iterator[tuple[np.ndarray, dict[str, Any]]]:
        for _ in range(n):
            yield self.step()
