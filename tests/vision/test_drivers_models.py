"""Camera and NIR drivers: golden cases, committed models, bad models and sources never crash the agent."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

from edge_agent.drivers import DRIVERS
from edge_agent.drivers.base import BadFrame
from edge_agent.drivers.camera import CameraConfig, CameraRunner
from edge_agent.drivers.nir_spectrometer import PolymerClassifier
from edge_agent.vision import snapshots
from edge_agent.vision.detector import ModelError, OnnxDetector
from tests.devices.golden import case_config

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
CASES = [d for key in ("camera", "nir_spectrometer") for d in sorted((GOLDEN / key).iterdir()) if d.is_dir()]


@pytest.mark.parametrize("case", CASES, ids=lambda d: f"{d.parent.name}/{d.name}")
def test_golden(case: Path) -> None:
    (inp,) = [p for p in case.iterdir() if p.name.startswith("input")]
    dec = DRIVERS[case.parent.name].decoder(case_config(case))  # device.yaml when the case has one
    got = [r.as_json() for r in dec.feed(inp.read_bytes()) if not isinstance(r, BadFrame)]
    want = [json.loads(line) for line in (case / "expected.jsonl").read_text().splitlines() if line.strip()]
    assert got == want


def test_detector_loads_and_runs() -> None:
    d = ROOT / "models" / "conveyor_detector"
    det = OnnxDetector(d / "conveyor_detector.onnx", d / "labels.txt", 320)
    assert isinstance(det.detect(np.zeros((360, 640, 3), np.uint8)), list)


def test_detector_wrong_input_size_and_corrupt_file(tmp_path: Path) -> None:
    d = ROOT / "models" / "conveyor_detector"
    with pytest.raises(ModelError, match="expects input"):
        OnnxDetector(d / "conveyor_detector.onnx", d / "labels.txt", 640)
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="cannot be loaded"):
        OnnxDetector(bad, d / "labels.txt", 320)


def test_nir_model_shape_mismatch() -> None:
    d = ROOT / "models" / "nir_polymer"
    with pytest.raises(ModelError, match="wavelengths"):
        PolymerClassifier(d / "nir_polymer.onnx", d / "labels.txt", 5)


def test_nir_bad_line_is_counted_not_raised() -> None:
    dec = DRIVERS["nir_spectrometer"].decoder(None)
    out = dec.feed(b"1,2,3\r\nnan,1,1,1,1,1,1,1\r\n")
    assert all(isinstance(o, BadFrame) for o in out) and len(out) == 2


def test_camera_bad_image_and_blank_frame() -> None:
    import cv2

    dec = DRIVERS["camera"].decoder(CameraConfig(name="c", type="camera", source="0"))
    assert isinstance(dec.feed(b"garbage")[0], BadFrame)
    _ok, png = cv2.imencode(".png", np.zeros((100, 100, 3), np.uint8))
    assert "blank" in dec.feed(png.tobytes())[0].reason  # type: ignore[union-attr]


def test_camera_that_is_missing_reports_error_and_stops_cleanly(tmp_path: Path) -> None:
    r = CameraRunner(CameraConfig(name="c", type="camera", source="rtsp://127.0.0.1:9/none", no_frame_timeout_s=0.5))
    stop = threading.Event()
    t = threading.Thread(target=r.run, args=(lambda _r: None, stop))
    t.start()
    stop.wait(1.5)
    stop.set()
    t.join(timeout=10)
    assert not t.is_alive()
    assert r.counters.last_error and not r.counters.connected


def test_camera_video_file_conveyor_and_snapshot(tmp_path: Path) -> None:
    from simulators.camera import video

    path = tmp_path / "belt.avi"
    video.write_video(video.conveyor_frames(200, 3, 10.0, 3.0, 0.3), path, 10.0, tmp_path / "truth.jsonl")
    truth = [json.loads(x) for x in (tmp_path / "truth.jsonl").read_text().splitlines()]
    cfg = CameraConfig.model_validate(
        {
            "name": "belt",
            "type": "camera",
            "source": str(path),
            "max_fps": 10,
            "analyzers": ["conveyor"],
            "conveyor": {"interval_s": 5, "belt_roi": [0, 0.1, 1, 0.9]},
        }
    )
    r = CameraRunner(cfg)
    got: list = []
    stop = threading.Event()
    t = threading.Thread(target=r.run, args=(got.append, stop))
    t.start()
    for _ in range(600):
        if r.counters.frames_ok >= 190 and not r.counters.connected:
            break
        stop.wait(0.1)
    stop.set()
    t.join(timeout=10)
    assert sum(x.data["count"] for x in got if x.kind == "conveyor") == truth[-1]["count_total"]
    frame = np.random.default_rng(0).integers(0, 255, (50, 60, 3), np.uint8)
    ref = snapshots.store(frame, tmp_path / "snaps")
    assert snapshots.verify(ref) and Path(ref["path"]).name == ref["sha256"] + ".jpg"
