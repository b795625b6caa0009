"""Measure the issue-4 targets on simulator output (not a test: slow, prints figures for the docs).

Run: ``taskset -c 1 .venv/bin/python -m tests.vision.measure_vision [--plates 300] [--ocr 100]``

Decode times are reported as wall time and as CPU time of the decoding thread (``time.thread_time``):
on the shared 2-core VM wall time mostly measures the other jobs, CPU time much less so. ``--ocr 0``
skips the slow OCR part; frames without a code measure what the deskew fallback costs on empty views.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import cv2

from edge_agent.vision import codes
from edge_agent.vision.ocr import DEFAULT_MODEL_PATTERNS, PlateReader, model_candidates
from simulators.camera.nameplate import nameplate_frame


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--plates", type=int, default=300)
    p.add_argument("--ocr", type=int, default=100, help="plates for the OCR measurement (0: skip)")
    p.add_argument("--no-deskew", action="store_true", help="frame pass only (the earlier decoder)")
    a = p.parse_args()
    cv2.setNumThreads(1)
    fmts = codes.format_set(["qr", "datamatrix", "code128", "ean13"])
    out: dict[str, object] = {"load_average_at_start": os.getloadavg(), "deskew_linear": not a.no_deskew}
    for severity, code in (("typical", "random"), ("hard", "random"), ("typical", None)):
        ok, t, cpu = 0, 0.0, 0.0
        by_fmt: dict[str, list[int]] = {}
        for seed in range(a.plates):
            frame, truth, _ = nameplate_frame(10_000 + seed, code, severity)
            gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            t0, c0 = time.perf_counter(), time.thread_time()
            found = codes.decode(gray, fmts, deskew_linear=not a.no_deskew)
            cpu += time.thread_time() - c0
            t += time.perf_counter() - t0
            hit = any(c.gs1 == truth.gs1 for c in found) if code else not found
            ok += hit
            f = by_fmt.setdefault(str(truth.code_format), [0, 0])
            f[0] += hit
            f[1] += 1
        key = f"codes_{severity}" if code else "no_code_typical"
        out[key] = {"decoded" if code else "empty_result": ok / a.plates,
                    "ms_per_720p_frame": round(t * 1000 / a.plates, 2),
                    "cpu_ms_per_720p_frame": round(cpu * 1000 / a.plates, 2), "by_format": by_fmt,
                    "frames": a.plates}
    out["load_average_at_end"] = os.getloadavg()
    if a.ocr <= 0:
        print(json.dumps(out, indent=1))
        return
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
