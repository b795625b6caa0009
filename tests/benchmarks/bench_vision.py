"""Vision benchmark for `make bench`: zxing-cpp vs OpenCV QRCodeDetector on the same rendered 720p frames.

P4 = milliseconds per 1280x720 frame to find and decode the code (one thread), and the decode rate of
each on simulator frames at typical angles/blur/glare. Frames are grayscale for both decoders.
"""

from __future__ import annotations

import time

import cv2

from edge_agent.vision import codes
from simulators.camera.nameplate import nameplate_frame


def run(quick: bool) -> dict[str, dict[str, object]]:
    cv2.setNumThreads(1)
    n = 30 if quick else 200
    frames = []
    for seed in range(n):
        frame, truth, _ = nameplate_frame(50_000 + seed, code="qr")
        frames.append((cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), truth.code_text))
    fmts = codes.format_set(["qr"])  # QR only, like cv2.QRCodeDetector
    ok_z = 0
    t0 = time.perf_counter()
    for gray, text in frames:
        ok_z += any(c.text == text for c in codes.decode(gray, fmts))
    zx_ms = (time.perf_counter() - t0) * 1000 / n
    det = cv2.QRCodeDetector()
    ok_cv = 0
    t0 = time.perf_counter()
    for gray, text in frames:
        decoded, _, _ = det.detectAndDecode(gray)
        ok_cv += decoded == text
    cv_ms = (time.perf_counter() - t0) * 1000 / n
    return {
        "P4": {
            "value": round(zx_ms, 2),
            "baseline": round(cv_ms, 2),
            "ratio": round(zx_ms / cv_ms, 4),
            "unit": "ms/frame",
            "frames": n,
            "decoded_zxing": ok_z / n,
            "decoded_opencv": ok_cv / n,
        },
    }


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run("--quick" in sys.argv), indent=1))
