"""One frame through the configured analyzers -> readings (``ident``, ``conveyor``, ``detections``).

Analyzers are built once (OCR and ONNX sessions load slowly and must fail at start, not mid-shift). A
frame that cannot be analysed becomes a BadFrame with the reason; a frame with nothing in view simply
gives no reading and is counted in ``stats``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edge_agent.drivers.base import BadFrame, Decoded, DeviceReading
from edge_agent.vision import codes as codes_mod
from edge_agent.vision import snapshots
from edge_agent.vision.catalogue import Catalogue, load_catalogue
from edge_agent.vision.config import CodesConfig, ConveyorConfig, DetectorConfig, OcrConfig, SnapshotConfig
from edge_agent.vision.conveyor import Blob, ConveyorAnalyzer
from edge_agent.vision.detector import Detection, OnnxDetector
from edge_agent.vision.ocr import OcrLine, PlateReader, model_candidates

log = logging.getLogger(__name__)
BLANK_STD = 2.0  # a frame this flat is a lens cap, a dead stream or a black/white test pattern


@dataclass
class PipelineStats:
    frames: int = 0
    blank: int = 0
    no_ident: int = 0
    idents: int = 0
    errors: dict[str, int] = field(default_factory=dict)


def ident_data(
    codes: list[codes_mod.Code],
    lines: list[OcrLine],
    patterns: dict[str, list[str]],
    min_confidence: float,
    catalogue: Catalogue | None = None,
) -> dict[str, Any]:
    """The ``ident`` reading's data: codes, merged GS1 fields, OCR lines and model candidates."""
    merged: dict[str, str] = {}
    for c in codes:
        merged.update(c.gs1 or {})
    gs1_models = [c.gs1["8013"] for c in codes if c.gs1 and "8013" in c.gs1]
    cands = [m for m in model_candidates(lines, patterns, gs1_models, catalogue) if m.confidence >= min_confidence]
    return {
        "codes": [c.as_json() for c in codes],
        "gs1": merged,
        "ocr_lines": [ln.text for ln in lines],
        "model_candidates": [m.as_json() for m in cands],
    }


def detections_to_blobs(dets: list[Detection], frame: np.ndarray) -> list[Blob]:
    """Detector boxes as conveyor blobs (area = box area, brightness = median V inside the box)."""
    value = cv2.cvtColor(frame, cv2.COLOR_BGR2HSV)[:, :, 2]
    out = []
    for d in dets:
        x1, y1, x2, y2 = (round(v) for v in d.box)
        patch = value[max(y1, 0) : max(y2, y1 + 1), max(x1, 0) : max(x2, x1 + 1)]
        v = float(np.median(patch)) if patch.size else 255.0
        out.append(
            Blob(
                (x1 + x2) / 2,
                (y1 + y2) / 2,
                float((x2 - x1) * (y2 - y1)),
                (x1, y1, x2 - x1, y2 - y1),
                v,
                d.cls,
            )
        )
    return out


class FramePipeline:
    """Holds the analyzers of one camera and turns frames into readings."""

    def __init__(
        self,
        analyzers: Sequence[str],
        codes: CodesConfig,
        ocr: OcrConfig,
        conveyor: ConveyorConfig,
        detector: DetectorConfig | None,
        snapshot: SnapshotConfig,
        repeat_after_s: float = 30.0,
    ) -> None:
        self.analyzers = set(analyzers)
        self.codes_cfg, self.ocr_cfg, self.conv_cfg, self.snap_cfg = codes, ocr, conveyor, snapshot
        self.repeat_after_s = repeat_after_s
        self.formats = codes_mod.format_set(codes.formats)
        self.reader = PlateReader(ocr.threads) if "ocr" in self.analyzers else None
        # A missing or unreadable catalogue file is a start-up error (ValueError naming the file).
        self.catalogue = load_catalogue(ocr.catalogue, ocr.catalogue_file) if self.reader else None
        need_detector = "detector" in self.analyzers or (
            "conveyor" in self.analyzers and conveyor.source == "detector"
        )
        if need_detector and detector is None:
            raise ValueError("the detector analyzer needs a `detector:` section (model, labels, input_size)")
        self.detector = (
            OnnxDetector(
                Path(detector.model),
                Path(detector.labels),
                detector.input_size,
                detector.score_threshold,
                detector.iou_threshold,
                detector.threads,
            )
            if need_detector and detector
            else None
        )
        self.conveyor = (
            ConveyorAnalyzer(
                conveyor.line_x,
                conveyor.belt_roi,
                conveyor.threshold,
                conveyor.min_area_px,
                conveyor.max_jump_px,
                conveyor.dark_value_max,
            )
            if "conveyor" in self.analyzers
            else None
        )
        self.stats = PipelineStats()
        self._last_ocr = float("-inf")
        self._last_key: tuple[Any, ...] | None = None
        self._last_emit = float("-inf")
        self._interval_start: float | None = None

    def process(self, frame: np.ndarray, now: float, ts: datetime | None = None) -> list[Decoded]:
        """Readings produced by this frame; ``now`` is a monotonic clock in seconds."""
        self.stats.frames += 1
        if frame is None or frame.ndim != 3 or frame.shape[2] != 3 or frame.size == 0:
            return [BadFrame("not a 3-channel image")]
        if float(frame.std()) < BLANK_STD:
            self.stats.blank += 1
            return [BadFrame("blank frame (covered lens, dead stream?)")]
        out: list[Decoded] = []
        if "codes" in self.analyzers or self.reader is not None:
            reading = self._identify(frame, now, ts)
            if reading is not None:
                out.append(reading)
        dets: list[Detection] = []
        if self.detector is not None:
            dets = self.detector.detect(frame)
            if self.conveyor is None and dets:
                by_cls: dict[str, int] = {}
                for d in dets:
                    by_cls[d.cls] = by_cls.get(d.cls, 0) + 1
                out.append(
                    DeviceReading(
                        kind="detections",
                        ts=ts,
                        data={"count_by_class": by_cls, "detections": [d.as_json() for d in dets]},
                    )
                )
        if self.conveyor is not None:
            out.extend(self._conveyor(frame, dets, now, ts))
        return out

    def _identify(self, frame: np.ndarray, now: float, ts: datetime | None) -> DeviceReading | None:
        found = []
        if "codes" in self.analyzers:
            gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            found = codes_mod.decode(gray, self.formats, try_invert=self.codes_cfg.try_invert)
        lines: list[OcrLine] = []
        if self.reader is not None and now - self._last_ocr >= self.ocr_cfg.every_s:
            self._last_ocr = now
            lines = self.reader.read(frame, self.ocr_cfg.roi)
        data = ident_data(
            found, lines, self.ocr_cfg.patterns, self.ocr_cfg.min_confidence, self.catalogue
        )
        if not data["codes"] and not data["model_candidates"]:
            self.stats.no_ident += 1
            return None
        top = data["model_candidates"][0]["model"] if data["model_candidates"] else None
        key = (tuple(c["text"] for c in data["codes"]), top)
        if key == self._last_key and now - self._last_emit < self.repeat_after_s:
            return None  # the same plate still in view
        self._last_key, self._last_emit = key, now
        if self.snap_cfg.directory:
            data["snapshot"] = snapshots.store(
                frame, Path(self.snap_cfg.directory), self.snap_cfg.jpeg_quality
            )
        self.stats.idents += 1
        return DeviceReading(kind="ident", ts=ts, data=data)

    def _conveyor(
        self, frame: np.ndarray, dets: list[Detection], now: float, ts: datetime | None
    ) -> list[Decoded]:
        assert self.conveyor is not None
        if self.conv_cfg.source == "detector":
            self.conveyor.update(detections_to_blobs(dets, frame), frame.shape[1])
        else:
            self.conveyor.process(frame)
        if self._interval_start is None:
            self._interval_start = now
        elapsed = now - self._interval_start
        if elapsed < self.conv_cfg.interval_s:
            return []
        self._interval_start = now
        return [DeviceReading(kind="conveyor", ts=ts, data=self.conveyor.flush(elapsed))]

    def flush_conveyor(self, now: float, ts: datetime | None = None) -> list[Decoded]:
        """Close a partial interval (end of a video file, shutdown)."""
        if self.conveyor is None or self._interval_start is None:
            return []
        elapsed = now - self._interval_start
        self._interval_start = now
        return [DeviceReading(kind="conveyor", ts=ts, data=self.conveyor.flush(elapsed))]
