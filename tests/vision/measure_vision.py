"""Measure the issue-4 targets on simulator output (not a test: slow, prints figures for the docs).

Run: ``.venv/bin/python -m tests.vision.measure_vision [--plates 300] [--ocr 100]``
"""

from __future__ import annotations

import argparse
import json
import time

import cv2

from edge_agent.vision import codes
from edge_agent.vision.ocr import DEFAULT_MODEL_PATTERNS, PlateReader, model_candidates
from simulators.camera.nameplate import nameplate_frame


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--plates", type=int, default=300)
    p.add_argument("--ocr", type=int, default=100)
    a = p.parse_args()
    cv2.setNumThreads(1)
    fmts = codes.format_set(["qr", "datamatrix", "code128", "ean13"])
    out: dict[str, object] = {}
    for severity in ("typical", "hard"):
        ok, t, by_fmt = 0, 0.0, {}
        for seed in range(a.plates):
            frame, truth, _ = nameplate_frame(10_000 + seed, "random", severity)
            gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            t0 = time.perf_counter()
            found = codes.decode(gray, fmts)
            t += time.perf_counter() - t0
            hit = any(c.gs1 == truth.gs1 for c in found)
            ok += hit
            f = by_fmt.setdefault(truth.code_format, [0, 0])
            f[0] += hit
            f[1] += 1
        out[f"codes_{severity}"] = {"decoded": ok / a.plates, "ms_per_720p_frame": round(t * 1000 / a.plates, 2),
                                    "by_format": by_fmt, "frames": a.plates}
    reader = PlateReader(threads=1)
    exact, t = 0, 0.0
    misses = []
    for seed in range(a.ocr):
        frame, truth, _ = nameplate_frame(20_000 + seed, None, "typical")
        t0 = time.perf_counter()
        lines = reader.read(frame)
        t += time.perf_counter() - t0
        cands = model_candidates(lines, DEFAULT_MODEL_PATTERNS)
        if cands and cands[0].model == truth.model:
            exact += 1
        else:
            misses.append({"truth": truth.model, "got": cands[0].model if cands else None})
    out["ocr_model_exact"] = {"rate": exact / a.ocr, "plates": a.ocr, "s_per_720p_frame": round(t / a.ocr, 2),
                              "misses": misses[:10]}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
