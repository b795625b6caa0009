"""Find 1-D barcode regions by gradient orientation and cut them out upright (second decode pass).

zxing-cpp reads a linear code from single scan lines, so a row has to cross every bar: a Code 128 of
~700 px width and ~140 px bar height is lost once rotation exceeds atan(140/700) ≈ 11°, the upper end of
a fixed station camera's "typical" ±12° (issue 4). Bars are many parallel edges, so over a window the
gradient structure tensor of a barcode is strongly anisotropic while text, QR/DataMatrix modules and plain
metal are not; the dominant gradient direction gives the bar angle. Cutting that region out rotated
upright gives zxing rows that cross all bars, at the cost of a small crop instead of another full frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# Tuned on simulator plates (module 2.5-3.2 px at 720p): gradients at 1/2 resolution keep the bars
# resolvable; the tensor is then averaged down to 1/8 resolution where the region search is cheap.
_GRAD_SCALE = 0.5
_POOL = 4  # tensor pooled 4x4 -> map at 1/8 resolution
_SCALE = _GRAD_SCALE / _POOL
_WINDOW = 5  # tensor window on the 1/8 map (= 40 frame px): several bars wide, less than the bar height
_REL_THRESHOLD = 0.35  # of the frame's strongest anisotropy
# Mean anisotropy (8-bit Sobel units) a region needs: simulator Code 128 at typical settings 234k-385k,
# "hard" (2x blur/glare) 86k-361k, plate edges/text/QR/DataMatrix 21k-161k. Weaker regions are skipped.
_MIN_MEAN = 1.0e5
_MIN_AREA = 20  # cells of the 1/8 map (= 1,280 frame px)
_MIN_LENGTH = 96.0  # frame px along the code: a single edge spans one window (40 px), a code many bars
_MARGIN = 0.12  # of the region's length, added on both ends for the quiet zone and the end bars


@dataclass(frozen=True)
class Region:
    """A candidate linear barcode: centre and size in frame pixels; ``angle_deg`` turns its bars upright."""

    center: tuple[float, float]
    length: float
    height: float
    angle_deg: float
    strength: float


def linear_regions(gray: np.ndarray, max_regions: int = 2) -> list[Region]:
    """Strongest bar-like regions of a grayscale frame, best first (empty when nothing is bar-like)."""
    if min(gray.shape[:2]) < 2 * _WINDOW / _SCALE:
        return []  # smaller than two tensor windows: no room for a code that needs deskewing
    small = cv2.resize(gray, None, fx=_GRAD_SCALE, fy=_GRAD_SCALE, interpolation=cv2.INTER_AREA)
    gx = cv2.Sobel(small, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(small, cv2.CV_32F, 0, 1, ksize=3)
    size = (max(1, small.shape[1] // _POOL), max(1, small.shape[0] // _POOL))
    win = (_WINDOW, _WINDOW)

    def pooled(a: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(cv2.resize(a, size, interpolation=cv2.INTER_AREA), -1, win)

    jxx = pooled(gx * gx)
    jyy = pooled(gy * gy)
    jxy = pooled(gx * gy)
    diff = jxx - jyy
    aniso = cv2.sqrt(diff * diff + 4 * jxy * jxy)
    peak = float(aniso.max())
    if peak < _MIN_MEAN:
        return []
    mask = (aniso > _REL_THRESHOLD * peak).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    order = sorted(range(1, n), key=lambda i: -int(stats[i, cv2.CC_STAT_AREA]))
    out: list[Region] = []
    for i in order:
        if stats[i, cv2.CC_STAT_AREA] < _MIN_AREA or len(out) == max_regions:
            break
        sel = labels == i
        mean = float(aniso[sel].mean())
        if mean < _MIN_MEAN:
            continue
        sxx, syy, sxy = float(jxx[sel].sum()), float(jyy[sel].sum()), float(jxy[sel].sum())
        # dominant gradient direction = across the bars = along the code
        theta = 0.5 * np.degrees(np.arctan2(2 * sxy, sxx - syy))
        ys, xs = np.nonzero(sel)
        pts = (np.column_stack([xs, ys]).astype(np.float32) + 0.5) / _SCALE  # cell centres
        (cx, cy), length, height = _extent(pts, theta)
        if length >= _MIN_LENGTH:
            out.append(Region((cx, cy), length, height, theta, mean))
    return out


def _extent(pts: np.ndarray, theta_deg: float) -> tuple[tuple[float, float], float, float]:
    """Centre, length along ``theta`` and height across it of a point set (an oriented bounding box)."""
    t = np.radians(theta_deg)
    u = np.array([np.cos(t), np.sin(t)], np.float32)
    v = np.array([-np.sin(t), np.cos(t)], np.float32)
    pu, pv = pts @ u, pts @ v
    cu, cv_ = (pu.min() + pu.max()) / 2, (pv.min() + pv.max()) / 2
    centre = cu * u + cv_ * v
    return (float(centre[0]), float(centre[1])), float(pu.max() - pu.min()), float(pv.max() - pv.min())


def upright_crop(gray: np.ndarray, region: Region) -> tuple[np.ndarray, np.ndarray]:
    """The region cut out with its bars vertical, plus the 2x3 affine that maps crop -> frame pixels."""
    pad = _WINDOW / _SCALE  # the tensor window spreads the mask by about half a window on each side
    w = int(region.length * (1 + 2 * _MARGIN) + pad)
    h = int(region.height + pad)
    cx, cy = region.center
    fwd = cv2.getRotationMatrix2D((cx, cy), region.angle_deg, 1.0)  # frame -> upright, about the centre
    fwd[0, 2] += w / 2 - cx
    fwd[1, 2] += h / 2 - cy
    crop = cv2.warpAffine(gray, fwd, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return crop, cv2.invertAffineTransform(fwd)
