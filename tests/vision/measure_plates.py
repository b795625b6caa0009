"""Read rate of model numbers on styled plates (fonts, layouts, label words, angles, unknown makers).

Run: ``taskset -c 1 .venv/bin/python -m tests.vision.measure_plates --plates 120 [--record FILE]``

"before" is the manufacturer patterns alone (what the agent had), "after" the structural reader plus
patterns, "catalogue" the same ranked against a catalogue holding the true models among 500 others.
``--record`` writes each plate's OCR lines (text, score, box) and truth as JSON lines, so the
extraction can be tested on real OCR output without running OCR (tests/vision/test_plate_text.py).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from collections import defaultdict

import cv2

from edge_agent.vision.catalogue import Catalogue
from edge_agent.vision.ocr import DEFAULT_MODEL_PATTERNS, OcrLine, PlateReader, _pattern_candidates, model_candidates
from simulators.camera.plate_styles import (
    ISSUE_MAKER,
    LABELS,
    LAYOUTS,
    UNKNOWN_MAKERS,
    PlateStyle,
    available_fonts,
    fill,
    styled_frame,
)

ANGLES = [0.0, 5.0, -5.0, 8.0, -10.0]
MAKERS = sorted(UNKNOWN_MAKERS) + sorted(ISSUE_MAKER)


def condition(i: int, fonts: list[str]) -> tuple[PlateStyle, float, str]:
    """Plate ``i``'s style, angle and maker: every factor cycles with a different period."""
    style = PlateStyle(fonts[i % len(fonts)], LABELS[i % len(LABELS)], LAYOUTS[(i // len(fonts)) % len(LAYOUTS)])
    return style, ANGLES[i % len(ANGLES)], MAKERS[i % len(MAKERS)]


def distractor_catalogue(models: list[str], n: int = 500, seed: int = 1) -> Catalogue:
    rng = random.Random(seed)
    templates = [t for ts in {**UNKNOWN_MAKERS, **ISSUE_MAKER}.values() for t in ts]
    others = {fill(rng.choice(templates), rng) for _ in range(n)}
    return Catalogue(dict.fromkeys(sorted(others | set(models))))


def score(records: list[dict[str, object]], catalogue: Catalogue | None) -> dict[str, object]:
    """Top-1 exact rate overall and per condition, for before / after (/ catalogue)."""
    by: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for r in records:
        lines = [OcrLine(t, s, b) for t, s, b in r["lines"]]  # type: ignore[attr-defined]
        before = sorted(_pattern_candidates(lines, DEFAULT_MODEL_PATTERNS), key=lambda c: -c.confidence)
        after = [c for c in model_candidates(lines, DEFAULT_MODEL_PATTERNS) if c.confidence >= 0.5]
        got = {"before": before[0].model if before else None, "after": after[0].model if after else None}
        if catalogue is not None:
            cat = [c for c in model_candidates(lines, DEFAULT_MODEL_PATTERNS, catalogue=catalogue)
                   if c.confidence >= 0.5]
            got["catalogue"] = cat[0].model if cat else None
        for key in ("all", f"font={r['font']}", f"layout={r['layout']}", f"label={r['label']}",
                    f"angle={r['angle']}", f"maker={r['maker']}"):
            for k, v in got.items():
                cell = by[key][k]
                cell[0] += v == r["model"]
                cell[1] += 1
    return {key: "  ".join(f"{k} {a}/{n} ({100 * a / n:.0f} %)" for k, (a, n) in v.items())
            for key, v in sorted(by.items())}


SIZES = [((1280, 720), 0.3), ((1280, 720), 0.2), ((1920, 1080), 0.3), ((3840, 2160), 0.5),
         ((3840, 2160), 0.35), ((3840, 2160), 0.25)]


def resolution(n: int, seed: int) -> dict[str, str]:
    """Small plates, large frames: one engine pass on the whole frame (before) vs ``PlateReader.read``."""
    reader, fonts, out = PlateReader(threads=1), available_fonts(), {}
    for size, scale in SIZES:
        hits, empty = {"before": 0, "after": 0}, {"before": 0, "after": 0}
        for i in range(n):
            style, angle, maker = condition(i, fonts)
            frame, truth = styled_frame(seed + 7000 + i, style, angle, maker, size=size, scale=scale)
            for key, lines in (("before", reader._run(frame, 0, 0)), ("after", reader.read(frame))):
                cands = [c for c in model_candidates(lines, DEFAULT_MODEL_PATTERNS) if c.confidence >= 0.5]
                hits[key] += bool(cands) and cands[0].model == truth.model
                empty[key] += not lines
        text_px = round(30 * scale * min(0.75 * size[0] / 640, 0.8 * size[1] / 340, 1.6), 1)
        out[f"{size[0]}x{size[1]} value text ~{text_px} px"] = "  ".join(
            f"{k} {hits[k]}/{n} (empty OCR {empty[k]})" for k in hits)
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--plates", type=int, default=120)
    p.add_argument("--seed", type=int, default=50_000)
    p.add_argument("--record", help="write OCR lines + truth per plate (JSON lines)")
    p.add_argument("--from-record", help="score a recorded file instead of running OCR")
    p.add_argument("--resolution", type=int, default=0, help="plates per frame size / plate size (0: skip)")
    a = p.parse_args()
    cv2.setNumThreads(1)
    out: dict[str, object] = {"load_average_at_start": os.getloadavg()}
    if a.resolution:
        out["resolution"] = resolution(a.resolution, a.seed)
    records: list[dict[str, object]] = []
    if a.from_record:
        with open(a.from_record, encoding="utf-8") as f:
            records = [json.loads(line) for line in f if line.strip()]
    else:
        reader, fonts, t = PlateReader(threads=1), available_fonts(), 0.0
        for i in range(a.plates):
            style, angle, maker = condition(i, fonts)
            frame, truth = styled_frame(a.seed + i, style, angle, maker)
            t0 = time.perf_counter()
            lines = reader.read(frame)
            t += time.perf_counter() - t0
            records.append({"seed": a.seed + i, "model": truth.model, "maker": maker, "font": style.font,
                            "label": style.label, "layout": style.layout, "angle": angle,
                            "lines": [[ln.text, round(ln.score, 4), [[round(x, 1), round(y, 1)] for x, y in ln.box]]
                                      for ln in lines]})
        out["s_per_720p_frame"] = round(t / max(a.plates, 1), 2)
        if a.record:
            with open(a.record, "w", encoding="utf-8") as f:
                for r in records:
                    f.write(json.dumps(r, ensure_ascii=False) + "\n")
    out["plates"] = len(records)
    out["empty_ocr"] = sum(not r["lines"] for r in records)
    out["rates"] = score(records, distractor_catalogue([str(r["model"]) for r in records]))
    out["load_average_at_end"] = os.getloadavg()
    print(json.dumps(out, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
