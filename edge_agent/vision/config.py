"""Camera analyzer settings (pydantic, extra keys rejected, every field described)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from edge_agent.vision.ocr import DEFAULT_MODEL_PATTERNS

# Kept literal (not imported from codes.py) so configs validate without the vision extra installed.
FORMAT_NAMES = ("qr", "datamatrix", "code128", "ean13", "ean8", "upca")
DEFAULT_FORMATS = ("qr", "datamatrix", "code128", "ean13")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CodesConfig(_Model):
    formats: list[Literal["qr", "datamatrix", "code128", "ean13", "ean8", "upca"]] = Field(
        default_factory=lambda: list(DEFAULT_FORMATS),  # type: ignore[arg-type]
        description=f"Symbologies to look for ({', '.join(FORMAT_NAMES)}); fewer is faster.",
    )
    try_invert: bool = Field(default=False, description="Also look for light-on-dark codes (slower).")


class OcrConfig(_Model):
    roi: tuple[int, int, int, int] | None = Field(
        default=None,
        description="Region x, y, width, height (pixels) holding the plate; omit to search the frame.",
    )
    every_s: float = Field(
        default=2.0, ge=0, description="Run OCR at most this often (about 1 s per 720p frame)."
    )
    threads: int = Field(default=1, ge=1, le=8, description="onnxruntime threads for OCR.")
    patterns: dict[str, list[str]] = Field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_MODEL_PATTERNS.items()},
        description="Manufacturer -> model regexes (full match); \\d and [A-Z] slots drive O/0, I/1 repair.",
    )
    min_confidence: float = Field(default=0.5, ge=0, le=1, description="Drop model candidates below this.")
    catalogue: list[str] = Field(
        default_factory=list,
        description="Known model numbers (e.g. the gateway's composition catalogue); matches rank first.",
    )
    catalogue_file: str | None = Field(
        default=None,
        description="File of known models: .json list, .csv with a 'model' column, or one per line.",
    )


class ConveyorConfig(_Model):
    interval_s: float = Field(default=10.0, gt=0, description="One conveyor reading per interval.")
    belt_roi: tuple[float, float, float, float] = Field(
        default=(0.0, 0.0, 1.0, 1.0), description="Belt area x0, y0, x1, y1 as fractions of the frame."
    )
    line_x: float = Field(default=0.5, gt=0, lt=1, description="Counting line position (fraction of width).")
    threshold: float = Field(
        default=35.0, gt=0, description="Per-channel difference to the belt that is an object."
    )
    min_area_px: float = Field(default=150.0, gt=0, description="Smaller blobs are noise.")
    max_jump_px: float = Field(
        default=60.0, gt=0, description="Largest movement of one object between frames."
    )
    dark_value_max: float = Field(
        default=60.0, ge=0, le=255, description="HSV value at or below which an object is dark."
    )
    source: Literal["contours", "detector"] = Field(
        default="contours",
        description="Objects from background subtraction, or the ONNX detector (adds classes).",
    )


class DetectorConfig(_Model):
    model: str = Field(description="Path of the YOLO-format .onnx file.")
    labels: str = Field(description="Path of labels.txt (one class per line, in output order).")
    input_size: int = Field(default=320, ge=32, le=2048, description="Square model input size (pixels).")
    score_threshold: float = Field(default=0.4, gt=0, lt=1, description="Drop detections below this score.")
    iou_threshold: float = Field(default=0.5, gt=0, lt=1, description="NMS overlap threshold.")
    threads: int = Field(default=1, ge=1, le=8, description="onnxruntime threads.")


class SnapshotConfig(_Model):
    directory: str | None = Field(default=None, description="Where evidence JPEGs go; omit to keep none.")
    jpeg_quality: int = Field(default=85, ge=30, le=100, description="JPEG quality of snapshots.")
