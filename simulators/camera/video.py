"""Frame sources for the camera simulator and their sinks: video file, JPEG stills, MJPEG over HTTP."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from simulators.camera.conveyor import ConveyorScene
from simulators.camera.nameplate import nameplate_frame

Frame = tuple[np.ndarray, dict[str, Any]]


def nameplate_frames(
    n: int,
    seed: int,
    hold: int = 10,
    code: str | None = "random",
    severity: str = "typical",
    size: tuple[int, int] = (1280, 720),
) -> Iterator[Frame]:
    """A new plate every ``hold`` frames (an appliance stopping in front of the camera)."""
    plate: np.ndarray | None = None
    truth: dict[str, Any] = {}
    for i in range(n):
        if i % hold == 0:
            plate, t, d = nameplate_frame(seed * 100_003 + i // hold, code, severity, size)
            truth = {"plate": i // hold, **t.as_json(), "distortion": d.__dict__}
        assert plate is not None
        yield plate, {"frame": i, **truth}


def conveyor_frames(
    n: int, seed: int, fps: float, rate_per_s: float, dark_share: float, size: tuple[int, int] = (640, 360)
) -> Iterator[Frame]:
    scene = ConveyorScene(
        width=size[0], height=size[1], fps=fps, rate_per_s=rate_per_s, dark_share=dark_share, seed=seed
    )
    yield from scene.frames(n)


def write_video(frames: Iterator[Frame], path: Path, fps: float, truth_path: Path | None) -> int:
    """MJPG in .avi (or mp4v in .mp4) plus one truth JSON line per frame; returns frames written."""
    writer: cv2.VideoWriter | None = None
    fourcc = cv2.VideoWriter.fourcc(*("mp4v" if path.suffix == ".mp4" else "MJPG"))
    n = 0
    with truth_path.open("w", encoding="utf-8") if truth_path else _Null() as tf:
        for frame, truth in frames:
            if writer is None:
                writer = cv2.VideoWriter(str(path), fourcc, fps, (frame.shape[1], frame.shape[0]))
                if not writer.isOpened():
                    raise OSError(f"cannot write video {path}")
            writer.write(frame)
            tf.write(json.dumps(truth) + "\n")
            n += 1
    if writer is not None:
        writer.release()
    return n


def write_stills(frames: Iterator[Frame], directory: Path, truth_path: Path | None, every: int = 1) -> int:
    directory.mkdir(parents=True, exist_ok=True)
    n = 0
    with truth_path.open("w", encoding="utf-8") if truth_path else _Null() as tf:
        for i, (frame, truth) in enumerate(frames):
            if i % every:
                continue
            name = directory / f"frame_{i:06d}.jpg"
            cv2.imwrite(str(name), frame, [cv2.IMWRITE_JPEG_QUALITY, 92])
            tf.write(json.dumps({"image": str(name), **truth}) + "\n")
            n += 1
    return n


class _Null:
    def __enter__(self) -> _Null:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def write(self, _s: str) -> None:
        return None


def serve_mjpeg(frames: Iterator[Frame], port: int, fps: float, stop: threading.Event) -> None:
    """Serve ``/stream.mjpg`` (multipart JPEG, what IP cameras offer) until the frames run out or stop."""
    latest: dict[str, bytes] = {}
    cond = threading.Condition()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/stream.mjpg":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
            self.end_headers()
            try:
                while not stop.is_set():
                    with cond:
                        cond.wait(1.0)
                        jpg = latest.get("jpg")
                    if jpg:
                        self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\n")
                        self.wfile.write(f"Content-Length: {len(jpg)}\r\n\r\n".encode() + jpg + b"\r\n")
            except (BrokenPipeError, ConnectionResetError):
                return

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        for frame, _truth in frames:
            if stop.is_set():
                break
            _ok, buf = cv2.imencode(".jpg", frame)
            with cond:
                latest["jpg"] = buf.tobytes()
                cond.notify_all()
            time.sleep(1.0 / fps)
    finally:
        server.shutdown()
