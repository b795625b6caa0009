"""Conveyor analytics without a model: objects per interval, belt occupancy, share of dark objects.

Foreground = difference to a slowly updated belt background (the belt itself looks the same from frame
to frame, the objects move). Blobs are tracked frame to frame by nearest predicted centroid, and a track
is counted once, when its centre crosses the counting line: an object visible in 10 frames still counts
as one. Dark (carbon-black) objects are NIR-blind, so their share by count and by area is reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np


@dataclass(frozen=True)
class Blob:
    cx: float
    cy: float
    area: float
    bbox: tuple[int, int, int, int]
    value: float  # median HSV value (brightness) of the blob's pixels
    cls: str | None = None  # set when the blob comes from a detector


@dataclass
class Track:
    tid: int
    cx: float
    cy: float
    vx: float = 0.0
    vy: float = 0.0
    missed: int = 0
    counted: bool = False
    values: list[float] = field(default_factory=list)
    areas: list[float] = field(default_factory=list)
    cls: str | None = None


@dataclass(frozen=True)
class Crossing:
    """One object counted at the line."""

    tid: int
    dark: bool
    area: float
    cls: str | None


def foreground_mask(frame: np.ndarray, background: np.ndarray, threshold: float) -> np.ndarray:
    """Pixels differing from the background by more than ``threshold`` in any channel, cleaned up."""
    diff = cv2.absdiff(frame, background)
    score = diff.max(axis=2) if diff.ndim == 3 else diff
    mask = (score > threshold).astype(np.uint8) * 255
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
    return cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel)


def find_blobs(mask: np.ndarray, frame: np.ndarray, min_area: float) -> list[Blob]:
    """Connected regions of the mask large enough to be objects, with their brightness."""
    value = cv2.cvtColor(frame, cv2.COLOR_BGR2HSV)[:, :, 2] if frame.ndim == 3 else frame
    n, labels, stats, cents = cv2.connectedComponentsWithStats(mask, connectivity=8)
    blobs = []
    for i in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[i])
        if area < min_area:
            continue
        pix = value[y : y + h, x : x + w][labels[y : y + h, x : x + w] == i]
        blobs.append(
            Blob(float(cents[i][0]), float(cents[i][1]), float(area), (x, y, w, h), float(np.median(pix)))
        )
    return blobs


def match(tracks: list[Track], blobs: list[Blob], max_dist: float) -> list[tuple[int, int]]:
    """Greedy nearest pairs (track index, blob index) between predicted track positions and blobs."""
    pairs = []
    for ti, t in enumerate(tracks):
        px, py = t.cx + t.vx, t.cy + t.vy
        for bi, b in enumerate(blobs):
            d = float(np.hypot(b.cx - px, b.cy - py))
            if d <= max_dist:
                pairs.append((d, ti, bi))
    pairs.sort()
    used_t: set[int] = set()
    used_b: set[int] = set()
    out = []
    for _, ti, bi in pairs:
        if ti not in used_t and bi not in used_b:
            used_t.add(ti)
            used_b.add(bi)
            out.append((ti, bi))
    return out


def summarise(crossings: list[Crossing], occupancy: list[float], interval_s: float) -> dict[str, Any]:
    """The ``conveyor`` reading's data for one interval."""
    n = len(crossings)
    dark = [c for c in crossings if c.dark]
    area = sum(c.area for c in crossings)
    by_class: dict[str, int] = {}
    for c in crossings:
        if c.cls:
            by_class[c.cls] = by_class.get(c.cls, 0) + 1
    out: dict[str, Any] = {
        "count": n,
        "occupancy_pct": round(100.0 * float(np.mean(occupancy)), 2) if occupancy else 0.0,
        "dark_count_share": round(len(dark) / n, 4) if n else 0.0,
        "dark_area_share": round(sum(c.area for c in dark) / area, 4) if area else 0.0,
        "interval_s": round(interval_s, 3),
    }
    if by_class:
        out["count_by_class"] = by_class
    return out


class ConveyorAnalyzer:
    """Per-camera state (background, tracks, interval accumulators); pure helpers above do the work."""

    def __init__(
        self,
        line_x: float = 0.5,
        belt_roi: tuple[float, float, float, float] = (0, 0, 1, 1),
        threshold: float = 35.0,
        min_area: float = 150.0,
        max_jump_px: float = 60.0,
        dark_value_max: float = 60.0,
        background_alpha: float = 0.02,
        max_missed: int = 3,
    ) -> None:
        self.line_x, self.roi, self.threshold, self.min_area = line_x, belt_roi, threshold, min_area
        self.max_jump, self.dark_max, self.alpha, self.max_missed = (
            max_jump_px,
            dark_value_max,
            background_alpha,
            max_missed,
        )
        self.background: np.ndarray | None = None
        self.tracks: list[Track] = []
        self.next_id = 1
        self.crossings: list[Crossing] = []
        self.occupancy: list[float] = []

    def _roi_px(self, frame: np.ndarray) -> tuple[int, int, int, int]:
        h, w = frame.shape[:2]
        x0, y0, x1, y1 = self.roi
        return int(x0 * w), int(y0 * h), int(x1 * w), int(y1 * h)

    def blobs_from_frame(self, frame: np.ndarray) -> list[Blob]:
        """Background-subtraction blobs; the first frame seeds the background (start on an empty belt)."""
        x0, y0, x1, y1 = self._roi_px(frame)
        roi = frame[y0:y1, x0:x1]
        if self.background is None or self.background.shape != roi.shape:
            self.background = roi.astype(np.float32)
        mask = foreground_mask(roi, self.background.astype(np.uint8), self.threshold)
        cv2.accumulateWeighted(roi, self.background, self.alpha, mask=cv2.bitwise_not(mask))
        self.occupancy.append(float(np.count_nonzero(mask)) / mask.size)
        blobs = find_blobs(mask, roi, self.min_area)
        return [
            Blob(
                b.cx + x0, b.cy + y0, b.area, (b.bbox[0] + x0, b.bbox[1] + y0, b.bbox[2], b.bbox[3]), b.value
            )
            for b in blobs
        ]

    def update(self, blobs: list[Blob], frame_width: int) -> list[Crossing]:
        """Advance tracks with this frame's blobs; return the objects that crossed the line now."""
        line = self.line_x * frame_width
        pairs = match(self.tracks, blobs, self.max_jump)
        matched_t = {ti for ti, _ in pairs}
        matched_b = {bi for _, bi in pairs}
        new: list[Crossing] = []
        for ti, bi in pairs:
            t, b = self.tracks[ti], blobs[bi]
            before = t.cx
            t.vx, t.vy = b.cx - t.cx, b.cy - t.cy
            t.cx, t.cy, t.missed = b.cx, b.cy, 0
            t.values.append(b.value)
            t.areas.append(b.area)
            t.cls = b.cls or t.cls
            if not t.counted and (before < line <= t.cx or before > line >= t.cx):
                t.counted = True
                dark = float(np.median(t.values)) <= self.dark_max
                new.append(Crossing(t.tid, dark, float(np.median(t.areas)), t.cls))
        for ti, t in enumerate(self.tracks):
            if ti not in matched_t:
                t.missed += 1
                t.cx, t.cy = t.cx + t.vx, t.cy + t.vy
        self.tracks = [t for t in self.tracks if t.missed <= self.max_missed]
        for bi, b in enumerate(blobs):
            if bi not in matched_b:
                # a blob appearing beyond the line was never seen before it: do not count it later
                self.tracks.append(
                    Track(
                        self.next_id,
                        b.cx,
                        b.cy,
                        values=[b.value],
                        areas=[b.area],
                        cls=b.cls,
                        counted=b.cx >= line,
                    )
                )
                self.next_id += 1
        self.crossings.extend(new)
        return new

    def process(self, frame: np.ndarray) -> list[Crossing]:
        return self.update(self.blobs_from_frame(frame), frame.shape[1])

    def flush(self, interval_s: float) -> dict[str, Any]:
        """Interval summary; resets counters but keeps tracks (objects in view stay counted once)."""
        out = summarise(self.crossings, self.occupancy, interval_s)
        self.crossings, self.occupancy = [], []
        return out
