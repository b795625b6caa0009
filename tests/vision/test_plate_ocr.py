"""OCR on rendered plates of makers without a pattern (fonts, layouts, angles) and in large frames."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge_agent.drivers.camera import CameraConfig, ImageDecoder
from edge_agent.vision.config import OcrConfig
from edge_agent.vision.ocr import DEFAULT_MODEL_PATTERNS, PlateReader, model_candidates
from edge_agent.vision.ocr_prep import text_region
from simulators.camera.plate_styles import PlateStyle, available_fonts, styled_frame


@pytest.fixture(scope="module")
def reader() -> PlateReader:
    return PlateReader(threads=1)


def _top(lines: list) -> str | None:  # type: ignore[type-arg]
    cands = [c for c in model_candidates(lines, DEFAULT_MODEL_PATTERNS) if c.confidence >= 0.5]
    return cands[0].model if cands else None


def test_fonts_are_installed() -> None:
    """The styled plates need DejaVu and IPA Gothic (for 形名, 型式); without them the rates mean nothing."""
    assert {"dejavu-sans", "dejavu-serif", "dejavu-mono", "ipa-gothic"} <= set(available_fonts())


@pytest.mark.parametrize(
    ("style", "angle", "maker"),
    [
        (PlateStyle("ipa-gothic", "形名", "merged"), 6.0, "PANASONIC"),
        (PlateStyle("dejavu-serif", "型式", "below"), -10.0, "KIRAMEKI"),
        (PlateStyle("dejavu-mono", "MODEL NO.", "right"), 8.0, "SAKURA KOGYO"),
        (PlateStyle("dejavu-sans-bold", "TYPE", "merged"), -5.0, "AOZORA DENKI"),
    ],
)
def test_unknown_makers_read_from_the_plate(reader: PlateReader, style: PlateStyle, angle: float, maker: str) -> None:
    frame, truth = styled_frame(4242, style, angle, maker)
    lines = reader.read(frame)
    assert lines, "no text on a sharp, well-lit plate"
    assert _top(lines) == truth.model, [ln.text for ln in lines]


def test_plate_in_a_4k_frame(reader: PlateReader) -> None:
    """The engine shrinks a 4K frame to 2,000 px and found no text at all on this plate; the reader cuts
    the text block out at native resolution first."""
    frame, truth = styled_frame(7001, PlateStyle("dejavu-sans", "MODEL", "right"), 5.0, "NORDVIK",
                                size=(3840, 2160), scale=0.25)
    region = text_region(frame)
    assert region is not None and region.w < 600  # the plate, not the frame
    lines = reader.read(frame)
    assert _top(lines) == truth.model, [ln.text for ln in lines]
    xs = [p[0] for ln in lines for p in ln.box]
    assert region.x - 5 <= min(xs) and max(xs) <= region.x + region.w + 5  # boxes in frame pixels


def test_no_text_region_in_an_empty_view() -> None:
    rng = np.random.default_rng(0)
    flat = np.clip(rng.normal(90, 2, (720, 1280, 3)), 0, 255).astype(np.uint8)
    assert text_region(flat) is None
    assert text_region(np.zeros((0, 0, 3), np.uint8)) is None


def test_decoder_with_catalogue_and_bad_catalogue_file(tmp_path: Path) -> None:
    frame, truth = styled_frame(4243, PlateStyle("dejavu-sans", "MOD.", "right"), 3.0, "TANUKI")
    _, png = cv2.imencode(".png", frame)
    cat = tmp_path / "models.json"
    cat.write_text(json.dumps([{"model": truth.model, "manufacturer": "Tanuki"}, "TL-000"]))
    base = {"name": "cam", "type": "camera", "source": "0", "analyzers": ["ocr"], "repeat_after_s": 0.0}
    cfg = CameraConfig.model_validate({**base, "ocr": OcrConfig(every_s=0.0, catalogue_file=str(cat))})
    (reading,) = ImageDecoder(cfg).feed(png.tobytes())
    top = reading.data["model_candidates"][0]  # type: ignore[union-attr]
    assert (top["model"], top["catalogue_match"], top["manufacturer"]) == (truth.model, "exact", "Tanuki")
    bad = CameraConfig.model_validate({**base, "ocr": OcrConfig(catalogue_file=str(tmp_path / "nope.csv"))})
    with pytest.raises(ValueError, match=r"nope\.csv"):
        ImageDecoder(bad)
