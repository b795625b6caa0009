"""Bar-region finder and the deskew pass of `codes.decode` on synthetic rotated Code 128 frames."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge_agent.vision import codes, deskew
from simulators.camera.nameplate import code_image

TEXT = "(01)04512345678901(21)7W38597238"
GS1 = {"01": "04512345678901", "21": "7W38597238"}


def _rotated_code(angle_deg: float, center: tuple[int, int] = (600, 380)) -> tuple[np.ndarray, np.ndarray]:
    """A 720p gray frame with a Code 128 (scaled 1.4x as on the plates) rotated by ``angle_deg``
    (clockwise on screen), and the code's four corners in the frame."""
    code = np.pad(code_image("code128", TEXT), 20, constant_values=235)
    code = cv2.resize(code, None, fx=1.4, fy=1.4, interpolation=cv2.INTER_LINEAR)
    h, w = code.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), -angle_deg, 1.0)
    m[:, 2] += np.array(center) - np.array([w / 2, h / 2])
    frame: np.ndarray = np.full((720, 1280), 90, np.uint8)
    frame = cv2.warpAffine(code, m, (1280, 720), dst=frame, borderMode=cv2.BORDER_TRANSPARENT)
    frame = cv2.GaussianBlur(frame, (0, 0), 0.6)
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64) @ m[:, :2].T + m[:, 2]
    return frame, corners


@pytest.mark.parametrize("angle", [-30.0, -14.0, 14.0, 25.0])
def test_region_angle_and_extent(angle: float) -> None:
    frame, corners = _rotated_code(angle)
    (region,) = deskew.linear_regions(frame, max_regions=1)
    assert region.angle_deg == pytest.approx(angle, abs=3.0)
    cx, cy = corners.mean(axis=0)
    assert region.center == pytest.approx((cx, cy), abs=25)
    crop, _ = deskew.upright_crop(frame, region)
    assert [c.gs1 for c in codes.decode(crop, deskew_linear=False)] == [GS1]


def test_deskew_pass_reads_what_the_frame_pass_misses_and_maps_corners_back() -> None:
    frame, corners = _rotated_code(20.0)
    fmts = codes.format_set(["qr", "code128"])
    assert codes.decode(frame, fmts, deskew_linear=False) == []
    (found,) = codes.decode(frame, fmts)
    assert found.format == "code128" and found.gs1 == GS1
    box = cv2.convexHull(corners.astype(np.float32))
    for x, y in found.corners:  # zxing's corners lie on the symbol, so inside the padded code
        assert cv2.pointPolygonTest(box, (float(x), float(y)), True) > -3


def test_no_regions_without_bars_and_no_second_pass_for_2d_only() -> None:
    assert deskew.linear_regions(np.full((720, 1280), 128, np.uint8)) == []
    noise = np.random.default_rng(1).normal(128, 4, (720, 1280)).clip(0, 255).astype(np.uint8)
    assert deskew.linear_regions(noise) == []
    frame, _ = _rotated_code(20.0)
    assert codes.decode(frame, codes.format_set(["qr", "datamatrix"])) == []  # 1-D not wanted: not read


def test_linear_formats_of_config() -> None:
    assert codes._linear_formats(codes.format_set(["qr", "code128"])) == codes.format_set(["code128"])
    assert codes._linear_formats(codes.format_set(["qr"])) == ()
    assert set(codes._linear_formats(None)) == set(codes.format_set(list(codes.LINEAR)))


@pytest.mark.parametrize("shape", [(1, 1), (5, 300), (79, 2000)])
def test_tiny_frames_decode_to_nothing(shape: tuple[int, int]) -> None:
    assert deskew.linear_regions(np.zeros(shape, np.uint8)) == []
    assert codes.decode(np.zeros(shape, np.uint8)) == []
