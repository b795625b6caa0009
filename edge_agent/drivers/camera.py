"""Cameras through OpenCV ``VideoCapture``: device index, video file, RTSP/HTTP URL or GStreamer pipeline.

Frames are rate-limited (analysis, not recording), run through the configured analyzers (codes, OCR,
conveyor, ONNX detector) and become ``ident`` / ``conveyor`` / ``detections`` readings. A camera that
disappears is reopened with backoff; a model that cannot be loaded fails at start with a clear message,
never in the middle of a shift. The decoder takes one encoded image (PNG/JPEG) per ``feed`` call, which is
what ``junkan agent decode --driver camera plate.png`` and the golden cases use.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import Field

from edge_agent.clock import wall_now
from edge_agent.drivers.base import (
    Backoff,
    BadFrame,
    Decoded,
    DeviceConfigBase,
    DeviceCounters,
    DeviceReading,
    Emit,
    log,
)
from edge_agent.vision.config import CodesConfig, ConveyorConfig, DetectorConfig, OcrConfig, SnapshotConfig

if TYPE_CHECKING:  # cv2/zxing/onnxruntime load only when a camera is actually used
    import cv2

    from edge_agent.vision.pipeline import FramePipeline

Analyzer = Literal["codes", "ocr", "conveyor", "detector"]


class CameraConfig(DeviceConfigBase):
    """A camera and the analyzers its frames go through."""

    type: Literal["camera"] = Field(description="Driver key.")
    source: str = Field(
        description="Device index ('0'), video file, rtsp:// or http(s):// URL, or a GStreamer pipeline "
        "(contains '!' and ends in 'appsink')."
    )
    backend: Literal["auto", "ffmpeg", "gstreamer", "v4l2"] = Field(
        default="auto", description="OpenCV capture backend; auto picks GStreamer for pipelines."
    )
    max_fps: float = Field(default=5.0, gt=0, le=60, description="Analyse at most this many frames a second.")
    loop_file: bool = Field(default=False, description="Restart a video file at its end (simulator replays).")
    no_frame_timeout_s: float = Field(
        default=5.0, gt=0, description="No frame for this long: reopen the camera."
    )
    analyzers: list[Analyzer] = Field(
        default_factory=lambda: ["codes"],  # type: ignore[arg-type]
        min_length=1,
        description="What to run on each frame: codes, ocr, conveyor, detector.",
    )
    codes: CodesConfig = Field(default_factory=CodesConfig, description="Barcode/QR/DataMatrix settings.")
    ocr: OcrConfig = Field(default_factory=OcrConfig, description="Rating-plate OCR settings.")
    conveyor: ConveyorConfig = Field(default_factory=ConveyorConfig, description="Belt analytics settings.")
    detector: DetectorConfig | None = Field(default=None, description="ONNX detector plug-in (YOLO format).")
    snapshots: SnapshotConfig = Field(default_factory=SnapshotConfig, description="Evidence JPEGs.")
    repeat_after_s: float = Field(
        default=30.0, ge=0, description="Re-emit the same identification after this."
    )


def build_pipeline(config: CameraConfig) -> FramePipeline:
    """Load every analyzer now (OCR models, ONNX session + warm-up) so errors surface at start."""
    from edge_agent.vision.pipeline import FramePipeline

    return FramePipeline(
        config.analyzers,
        config.codes,
        config.ocr,
        config.conveyor,
        config.detector,
        config.snapshots,
        config.repeat_after_s,
    )


def default_config() -> CameraConfig:
    """What ``junkan agent decode``/``identify`` use without a config: codes and OCR, no snapshots."""
    return CameraConfig(
        name="camera",
        type="camera",
        source="0",
        analyzers=["codes", "ocr"],
        ocr=OcrConfig(every_s=0.0),
        repeat_after_s=0.0,
    )


class ImageDecoder:
    """Decoder protocol for cameras: each ``feed`` is one whole encoded image (PNG/JPEG)."""

    def __init__(self, config: CameraConfig) -> None:
        self.pipeline = build_pipeline(config)
        self._t = 0.0

    def feed(self, chunk: bytes) -> list[Decoded]:
        import cv2

        frame = cv2.imdecode(np.frombuffer(chunk, np.uint8), cv2.IMREAD_COLOR) if chunk else None
        if frame is None:
            return [BadFrame("not a decodable image", chunk[:64])]
        self._t += 1e6  # every image is a new scene: no OCR throttling, no repeat suppression
        return self.pipeline.process(frame, self._t)


def decoder(config: CameraConfig | None = None) -> ImageDecoder:
    return ImageDecoder(config or default_config())


def open_capture(source: str, backend: str) -> cv2.VideoCapture:
    """VideoCapture for any source form; the caller checks ``isOpened``."""
    import cv2

    if source.isdigit():
        api = cv2.CAP_V4L2 if backend == "v4l2" else cv2.CAP_ANY
        return cv2.VideoCapture(int(source), api)
    if backend == "gstreamer" or (backend == "auto" and "!" in source):
        return cv2.VideoCapture(source, cv2.CAP_GSTREAMER)
    if backend == "ffmpeg":
        return cv2.VideoCapture(source, cv2.CAP_FFMPEG)
    return cv2.VideoCapture(source)


class CameraRunner:
    """Reads frames, limits the rate, runs the pipeline, reconnects on loss; never raises out of run."""

    def __init__(self, config: CameraConfig, capture_path: Path | None = None) -> None:
        self.config = config
        self.counters = DeviceCounters()
        self.capture_path = capture_path  # raw video capture is not recorded; snapshots are the evidence
        self.pipeline = build_pipeline(config)  # raises at start on a bad model/config
        self.is_file = Path(config.source).is_file()
        self._file_t = 0.0

    def send(self, command: bytes) -> None:
        """Cameras take no commands."""

    def run(self, emit: Emit, stop: threading.Event) -> None:
        backoff = Backoff()
        while not stop.is_set():
            cap = open_capture(self.config.source, self.config.backend)
            if not cap.isOpened():
                self.counters.fail(f"cannot open camera source {self.config.source!r}", f"camera {self.config.name}")
                cap.release()
                backoff.wait(stop)
                continue
            self.counters.connected = True
            backoff.reset()
            try:
                ended = self._loop(cap, emit, stop)
            except Exception as exc:  # an analyzer bug must not kill the device thread
                log.exception("camera %s failed", self.config.name)
                self.counters.fail(f"internal: {exc!r}", f"camera {self.config.name}")
                ended = False
            finally:
                cap.release()
            if ended and self.is_file and not self.config.loop_file:
                for item in self.pipeline.flush_conveyor(self._file_t):
                    self._deliver(item, emit)
                self.counters.connected = False
                stop.wait()  # a finished file is not an error: stay idle until shutdown
                return
            if not stop.is_set() and not ended:
                self.counters.reconnects += 1
                backoff.wait(stop)

    def _loop(self, cap: cv2.VideoCapture, emit: Emit, stop: threading.Event) -> bool:
        """Frames until stop (False), camera loss (False) or end of a file (True)."""
        import cv2

        min_gap = 1.0 / self.config.max_fps
        last_frame = time.monotonic()
        next_due = 0.0
        while not stop.is_set():
            ok, frame = cap.read()
            now = time.monotonic()
            if not ok or frame is None:
                if self.is_file:
                    return True
                if now - last_frame > self.config.no_frame_timeout_s:
                    timeout = self.config.no_frame_timeout_s
                    self.counters.fail(f"no frame for {timeout:.1f} s", f"camera {self.config.name}")
                    return False
                stop.wait(0.05)
                continue
            last_frame = now
            if self.is_file:  # files run as fast as analysis allows; time comes from the stream
                t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
                self._file_t = t
                if t < next_due - 1e-3:
                    continue
                next_due = t + min_gap
            else:
                if now < next_due:
                    continue
                next_due = now + min_gap
                t = now
            items = self.pipeline.process(frame, t, wall_now())
            if any(isinstance(i, BadFrame) for i in items):
                self.counters.frames_bad += 1
            else:  # a frame with nothing in view is still a good frame: the camera is alive
                self.counters.frames_ok += 1
                self.counters.last_reading_at = wall_now()
            for item in items:
                self._deliver(item, emit)
        return False

    def _deliver(self, item: Decoded, emit: Emit) -> None:
        if isinstance(item, BadFrame):
            self.counters.last_error = item.reason
            return
        if item.ts is None:
            item = DeviceReading(
                item.kind,
                item.value,
                item.unit,
                item.status,
                item.stable,
                item.data,
                wall_now(),
                item.raw,
            )
        emit(item)



def runner(config: CameraConfig, capture_path: Path | None = None) -> CameraRunner:
    return CameraRunner(config, capture_path)
