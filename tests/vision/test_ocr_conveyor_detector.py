"""Model-number repair, conveyor counting against simulator truth, YOLO post-processing."""

from __future__ import annotations

import numpy as np

from edge_agent.vision.conveyor import ConveyorAnalyzer
from edge_agent.vision.detector import decode_yolo, letterbox, nms, unletterbox
from edge_agent.vision.ocr import DEFAULT_MODEL_PATTERNS, OcrLine, model_candidates, repair
from simulators.camera.conveyor import ConveyorScene
from simulators.camera.nameplate import MODEL_TEMPLATES, _fill


def _line(text: str, score: float = 0.95) -> OcrLine:
    return OcrLine(text, score, [[0, 0], [1, 0], [1, 1], [0, 1]])


def test_confusions_repaired_with_lower_confidence() -> None:
    exact = model_candidates([_line("PANASONIC"), _line("MODEL NA-FAW120V1")], DEFAULT_MODEL_PATTERNS)
    fixed = model_candidates([_line("PANASONIC"), _line("M0DEL NA-FAWI2OV1")], DEFAULT_MODEL_PATTERNS)
    assert exact[0].model == fixed[0].model == "NA-FAW120V1"
    assert fixed[0].confidence < exact[0].confidence


def test_repair_respects_letter_slots() -> None:
    import re

    assert repair("AW-1OBX5", re.compile(r"AW-\d{2}[A-Z]{2}\d")) == ("AW-10BX5", 1)
    assert repair("AW-XXBX5", re.compile(r"AW-\d{2}[A-Z]{2}\d")) is None


def test_every_simulator_template_matches_a_default_pattern() -> None:
    import random
    import re

    rng = random.Random(0)
    for maker, templates in MODEL_TEMPLATES.items():
        for t in templates:
            model = _fill(t, rng)
            assert any(re.fullmatch(p, model) for p in DEFAULT_MODEL_PATTERNS[maker]), model


def test_gs1_model_wins_and_no_text_no_candidates() -> None:
    assert model_candidates([], DEFAULT_MODEL_PATTERNS, ["X-1"])[0].source == "gs1"
    assert model_candidates([_line("MADE IN JAPAN")], DEFAULT_MODEL_PATTERNS) == []


def test_conveyor_counts_each_object_once_and_dark_share() -> None:
    scene = ConveyorScene(seed=5, rate_per_s=3.0)
    analyzer = ConveyorAnalyzer(belt_roi=(0, 0.1, 1, 0.9))
    dark_truth = 0
    for frame, truth in scene.frames(400):
        analyzer.process(frame)
        dark_truth += sum(c["dark"] for c in truth["crossed"])
    summary = analyzer.flush(40.0)
    assert scene.counted > 20
    assert abs(summary["count"] - scene.counted) <= max(1, 0.03 * scene.counted)
    assert abs(summary["dark_count_share"] - dark_truth / scene.counted) < 0.05
    assert 0 < summary["occupancy_pct"] < 50


def test_letterbox_roundtrip_and_nms() -> None:
    img = np.zeros((360, 640, 3), np.uint8)
    boxed, scale, pad = letterbox(img, 320)
    assert boxed.shape == (320, 320, 3) and pad == (0, 70)
    out = np.zeros((1, 4 + 2, 3), np.float32)
    out[0, :, 0] = [100, 100, 40, 40, 0.9, 0.1]
    out[0, :, 1] = [102, 101, 40, 40, 0.8, 0.1]  # duplicate of the first
    out[0, :, 2] = [200, 200, 20, 20, 0.1, 0.7]
    boxes, scores, cls = decode_yolo(out, 2, 0.5)
    keep = nms(boxes, scores, cls, 0.5)
    assert len(keep) == 2 and cls[keep].tolist() == [0, 1]
    back = unletterbox(boxes[keep], scale, pad, img.shape)
    assert np.allclose(back[0], [160, 20, 240, 100])
