"""Where the text is, so OCR sees plate lettering at a size its detector can find.

RapidOCR shrinks any image whose long side exceeds 2,000 px and its detector misses lines under about
8 px high: a sharp plate that fills a small part of a 4K frame (or of a wide 720p view) came back with
no text at all. This module finds the text block by its structure (a dense patch of fine edges), so the
reader can cut it out at native resolution; the engine then enlarges the cut-out (short side to 736 px),
which is what makes small lettering readable.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# RapidOCR shrinks images above Global.max_side_len (2,000 px) and enlarges them until the short side is
# Det.limit_side_len (736 px): a cut-out of the plate is enlarged by the engine, a 4K frame is shrunk.
SMALL_SHARE = 0.6
_WORK_SIDE = 1280


@dataclass(frozen=True)
class TextRegion:
    """A block dense in fine edges (the plate's lettering) in image pixels."""

    x: int
    y: int
    w: int
    h: int

    def is_small_in(self, shape: tuple[int, ...]) -> bool:
        """True when the block is well inside the image: reading the cut-out gains resolution."""
        return max(self.w, self.h) < SMALL_SHARE * max(shape[:2])


def text_region(img: np.ndarray) -> TextRegion | None:
    """The largest block dense in fine edges (None when there is none): gradient, Otsu, local density."""
    if img is None or img.size == 0 or img.ndim not in (2, 3):
        return None
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) if img.ndim == 3 else img
    f = min(1.0, _WORK_SIDE / max(gray.shape[:2]))
    small = cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA) if f < 1 else gray
    grad = cv2.morphologyEx(small, cv2.MORPH_GRADIENT, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    thr, bw = cv2.threshold(grad, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    if thr < 8:  # no edge stands out from the noise
        return None
    density = cv2.blur((bw > 0).astype(np.float32), (15, 15))
    dense = (density > 0.12).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(dense, connectivity=8)
    if n <= 1:
        return None
    edges = np.bincount(labels.ravel(), weights=(bw > 0).ravel().astype(np.float64), minlength=n)
    best = 1 + int(np.argmax(edges[1:]))
    x, y, w, h, _ = (int(v) for v in stats[best])
    if w < 12 or h < 8:
        return None
    pad = 8
    x0, y0 = max(0, x - pad), max(0, y - pad)
    x1, y1 = min(small.shape[1], x + w + pad), min(small.shape[0], y + h + pad)
    return TextRegion(int(x0 / f), int(y0 / f), int((x1 - x0) / f), int((y1 - y0) / f))
