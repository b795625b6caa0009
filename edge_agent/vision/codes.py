"""Barcode decoding with zxing-cpp: QR, DataMatrix, Code 128 / GS1-128, EAN/UPC on a frame.

zxing-cpp is used instead of ``cv2.QRCodeDetector`` because it also reads DataMatrix and Code 128 (the
codes on appliance rating plates) and is ~40x faster on 720p (edge-practice.md §6, our bench_vision).
When a full-frame pass finds nothing, 1-D codes are looked for once more in upright crops of bar-like
regions (``deskew``): zxing scans rows, and a long Code 128 rotated by more than ~10° has no row that
crosses all its bars.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import zxingcpp

from edge_agent.vision import deskew, gs1

FORMATS: dict[str, Any] = {
    "qr": zxingcpp.BarcodeFormat.QRCode,
    "datamatrix": zxingcpp.BarcodeFormat.DataMatrix,
    "code128": zxingcpp.BarcodeFormat.Code128,
    "ean13": zxingcpp.BarcodeFormat.EAN13,
    "ean8": zxingcpp.BarcodeFormat.EAN8,
    "upca": zxingcpp.BarcodeFormat.UPCA,
}
DEFAULT_FORMATS = ("qr", "datamatrix", "code128", "ean13")
LINEAR = ("code128", "ean13", "ean8", "upca")


@dataclass(frozen=True)
class Code:
    """One decoded symbol; ``gs1`` holds {AI: value} when the content is GS1 (any spelling)."""

    format: str
    text: str
    gs1: dict[str, str] | None
    corners: list[tuple[int, int]]

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"format": self.format, "text": self.text}
        if self.gs1:
            out["gs1"] = self.gs1
        return out


def format_set(names: Sequence[str]) -> Any:
    """Config names -> tuple of zxing-cpp formats (unknown names raise at config time)."""
    unknown = [n for n in names if n not in FORMATS]
    if unknown:
        raise ValueError(f"unknown barcode format(s) {unknown}; known: {', '.join(FORMATS)}")
    return tuple(FORMATS[n] for n in names)


def _gs1_of(result: Any) -> dict[str, str] | None:
    """GS1 data from a symbol: FNC1-flagged content (bytes hold the GS-separated string), a Digital Link
    URI, or an EAN/UPC (which is a GTIN)."""
    if result.format in (FORMATS["ean13"], FORMATS["ean8"], FORMATS["upca"]):
        return {"01": gs1.normalise_gtin(result.text)} if gs1.gtin_check_digit_ok(result.text) else None
    if result.content_type == zxingcpp.ContentType.GS1:
        try:
            return gs1.parse_element_string(result.bytes.decode("ascii", "replace"))
        except gs1.GS1Error:
            return gs1.parse_any(result.text)
    return gs1.parse_any(result.text)


def decode(
    frame: np.ndarray,
    formats: Any = None,
    try_rotate: bool = True,
    try_invert: bool = False,
    deskew_linear: bool = True,
    try_downscale: bool = True,
) -> list[Code]:
    """All readable codes in a BGR or grayscale frame (empty list when none is in view).

    Restricting ``formats`` and skipping inverted (light-on-dark) search halves decode time on 720p.
    ``deskew_linear``: when the frame pass finds nothing and a 1-D format is wanted, retry 1-D formats on
    up to two upright crops of bar-like regions (~2 ms on 720p, plus ~1 ms per crop).
    """
    kwargs: dict[str, Any] = {"try_rotate": try_rotate, "try_invert": try_invert, "try_downscale": try_downscale}
    if formats is not None:
        kwargs["formats"] = formats
    image = np.ascontiguousarray(frame)
    out = [_code(r) for r in zxingcpp.read_barcodes(image, **kwargs) if r.valid]
    linear = _linear_formats(formats)
    if out or not deskew_linear or not linear:
        return out
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    for region in deskew.linear_regions(gray):
        crop, to_frame = deskew.upright_crop(gray, region)
        found = zxingcpp.read_barcodes(crop, formats=linear, try_rotate=True, try_invert=try_invert)
        out.extend(_code(r, to_frame) for r in found if r.valid)
        if out:
            break
    return out


def _linear_formats(formats: Any) -> Any:
    """The 1-D formats among ``formats`` (all 1-D formats we know when ``formats`` is None)."""
    wanted = [FORMATS[n] for n in LINEAR]
    if formats is None:
        return tuple(wanted)
    given = list(formats) if isinstance(formats, (tuple, list, set, frozenset, zxingcpp.BarcodeFormats)) else [formats]
    return tuple(f for f in given if f in wanted)


def _code(r: Any, to_frame: np.ndarray | None = None) -> Code:
    """zxing result -> Code; ``to_frame`` (2x3 affine) maps corners found in a crop back to the frame."""
    p = r.position
    pts = [p.top_left, p.top_right, p.bottom_right, p.bottom_left]
    corners = [(int(q.x), int(q.y)) for q in pts]
    if to_frame is not None:
        xy = np.array(corners, np.float64) @ to_frame[:, :2].T + to_frame[:, 2]
        corners = [(round(float(x)), round(float(y))) for x, y in np.rint(xy)]
    return Code(format=_format_name(r.format), text=r.text, gs1=_gs1_of(r), corners=corners)


def _format_name(fmt: Any) -> str:
    for name, value in FORMATS.items():
        if fmt == value:
            return name
    return str(fmt).replace(" ", "").lower()
