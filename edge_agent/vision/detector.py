"""ONNX object-detector plug-in (Frigate style): YOLO-format model, onnxruntime, warm-up at start.

The session does I/O and inference only; letterbox, decode and NMS are pure functions so they can be
tested without a model and reused by any YOLO-format network (``[1, 4 + C, N]`` or ``[1, N, 4 + C]``
with centre-x, centre-y, width, height in input pixels, then C class scores).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np


class ModelError(RuntimeError):
    """The model cannot be used as configured (missing/corrupt file, wrong input shape, bad labels)."""


@dataclass(frozen=True)
class Detection:
    cls: str
    score: float
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in frame pixels

    def as_json(self) -> dict[str, Any]:
        return {"cls": self.cls, "score": round(self.score, 3), "box": [round(v, 1) for v in self.box]}


def letterbox(img: np.ndarray, size: int, pad_value: int = 114) -> tuple[np.ndarray, float, tuple[int, int]]:
    """Resize keeping aspect ratio into a size x size square; returns image, scale and (pad_x, pad_y)."""
    h, w = img.shape[:2]
    scale = min(size / w, size / h)
    nw, nh = round(w * scale), round(h * scale)
    resized = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    out = np.full((size, size, 3), pad_value, np.uint8)
    px, py = (size - nw) // 2, (size - nh) // 2
    out[py : py + nh, px : px + nw] = resized
    return out, scale, (px, py)


def to_tensor(img_bgr: np.ndarray) -> np.ndarray:
    """HWC BGR uint8 -> NCHW RGB float32 in 0..1 (the YOLO convention)."""
    rgb = img_bgr[:, :, ::-1].astype(np.float32) / 255.0
    return np.ascontiguousarray(rgb.transpose(2, 0, 1)[None])


def decode_yolo(
    output: np.ndarray, n_classes: int, score_threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw ``[1, 4+C, N]`` (or ``[1, N, 4+C]``) -> boxes x1y1x2y2, scores, class ids above threshold."""
    out = np.asarray(output)
    if out.ndim == 3:
        out = out[0]
    if out.shape[0] != 4 + n_classes and out.shape[1] == 4 + n_classes:
        out = out.T
    if out.shape[0] != 4 + n_classes:
        raise ModelError(f"output shape {output.shape} does not fit 4 + {n_classes} classes")
    scores_all = out[4:]
    cls = scores_all.argmax(axis=0)
    scores = scores_all[cls, np.arange(out.shape[1])]
    keep = scores >= score_threshold
    cx, cy, w, h = out[0, keep], out[1, keep], out[2, keep], out[3, keep]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    return boxes, scores[keep], cls[keep]


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[2], boxes[:, 2])
    y2 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def nms(boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, iou_threshold: float) -> list[int]:
    """Class-aware greedy non-maximum suppression; indices kept, best score first."""
    order = list(np.argsort(-scores))
    keep: list[int] = []
    while order:
        i = order.pop(0)
        keep.append(int(i))
        if not order:
            break
        rest = np.array(order)
        overlaps = iou(boxes[i], boxes[rest])
        same = classes[rest] == classes[i]
        order = [
            int(j) for j, o, s in zip(rest, overlaps, same, strict=True) if not (s and o > iou_threshold)
        ]
    return keep


def unletterbox(
    boxes: np.ndarray, scale: float, pad: tuple[int, int], frame_shape: tuple[int, ...]
) -> np.ndarray:
    """Model-input boxes back to frame pixels, clipped to the frame."""
    out = boxes.copy()
    out[:, [0, 2]] = (out[:, [0, 2]] - pad[0]) / scale
    out[:, [1, 3]] = (out[:, [1, 3]] - pad[1]) / scale
    out[:, [0, 2]] = out[:, [0, 2]].clip(0, frame_shape[1])
    out[:, [1, 3]] = out[:, [1, 3]].clip(0, frame_shape[0])
    return out


def read_labels(path: Path) -> list[str]:
    try:
        labels = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    except OSError as exc:
        raise ModelError(f"labels file {path}: {exc}") from exc
    if not labels:
        raise ModelError(f"labels file {path} is empty")
    return labels


def load_session(path: Path, threads: int = 1) -> Any:
    """An onnxruntime CPU session, or a ModelError naming the file (missing, corrupt, unsupported)."""
    import onnxruntime as ort

    if not path.is_file():
        raise ModelError(f"model file {path} not found")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises several private exception types
        raise ModelError(f"model file {path} cannot be loaded: {exc}") from exc


class OnnxDetector:
    """A YOLO-format ONNX detector; checks the model against the config and warms up at construction."""

    def __init__(
        self,
        model: Path,
        labels: Path,
        input_size: int,
        score_threshold: float = 0.4,
        iou_threshold: float = 0.5,
        threads: int = 1,
    ) -> None:
        self.labels = read_labels(labels)
        self.size, self.score_threshold, self.iou_threshold = input_size, score_threshold, iou_threshold
        self.session = load_session(model, threads)
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        shape = list(inp.shape)
        want = (3, input_size, input_size)
        if len(shape) != 4 or any(
            isinstance(d, int) and d != e for d, e in zip(shape[1:], want, strict=True)
        ):
            raise ModelError(f"model {model} expects input {shape}, config says [1, {want}]")
        out_shape = self.session.get_outputs()[0].shape
        if not any(isinstance(d, int) and d == 4 + len(self.labels) for d in out_shape):
            raise ModelError(f"model {model} output {out_shape} does not match {len(self.labels)} labels")
        self._warmup()

    def _warmup(self) -> None:
        """First inference allocates buffers; doing it now keeps the first real frame on time."""
        self.session.run(None, {self.input_name: np.zeros((1, 3, self.size, self.size), np.float32)})

    def detect(self, frame: np.ndarray) -> list[Detection]:
        img, scale, pad = letterbox(frame, self.size)
        raw = self.session.run(None, {self.input_name: to_tensor(img)})[0]
        boxes, scores, classes = decode_yolo(raw, len(self.labels), self.score_threshold)
        if len(scores) == 0:
            return []
        keep = nms(boxes, scores, classes, self.iou_threshold)
        boxes = unletterbox(boxes[keep], scale, pad, frame.shape)
        return [
            Detection(
                self.labels[int(classes[k])],
                float(scores[k]),
                (float(b[0]), float(b[1]), float(b[2]), float(b[3])),
            )
            for k, b in zip(keep, boxes, strict=True)
        ]
