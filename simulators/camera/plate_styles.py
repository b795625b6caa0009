"""Rating plates in varied styles: TrueType fonts, label layouts, Japanese labels, unknown makers.

The original renderer (``nameplate.render_plate``) draws one Hershey font with ``MODEL <value>`` on one
line and makers whose model numbers the agent has patterns for. Real plates differ in all of that, so
this renderer varies the font, the label word (MODEL, MODEL NO., 形名, 型式, 型番, TYPE, MOD.), where the
value sits (right of the label, below it, or run together with it) and uses invented makers whose model
shapes match no built-in pattern. Each plate keeps its truth so read rates can be measured.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from simulators.camera.nameplate import Distortion, place

# Invented makers (no built-in pattern) -> model templates: L letter, D digit, others literal.
UNKNOWN_MAKERS: dict[str, list[str]] = {
    "KIRAMEKI": ["KM/DDDD-LL"],  # slash and dash
    "AOZORA DENKI": ["AZDDDLL"],  # no separator at all
    "NORDVIK": ["NV-DDDD/L"],
    "SAKURA KOGYO": ["SKDD-LDDDD-L"],  # long, two dashes
    "TANUKI": ["TL-DDD"],  # short
}
# The issue's plate: a real maker whose newer series the built-in Panasonic patterns do not cover.
ISSUE_MAKER = {"PANASONIC": ["NA-FWDDLD"]}
LABELS = ["MODEL", "MODEL NO.", "形名", "型式", "型番", "TYPE", "MOD."]
LAYOUTS = ["right", "below", "merged"]
_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
_FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/opentype/ipafont-gothic")
FONT_FILES = {
    "dejavu-sans": "DejaVuSans.ttf",
    "dejavu-sans-bold": "DejaVuSans-Bold.ttf",
    "dejavu-serif": "DejaVuSerif.ttf",
    "dejavu-mono": "DejaVuSansMono.ttf",
    "dejavu-condensed": "DejaVuSansCondensed.ttf",
    "ipa-gothic": "ipag.ttf",
}
CJK_FONT = "ipa-gothic"


def font_path(name: str) -> Path | None:
    """The TrueType file of ``name`` on this machine, or None when it is not installed."""
    for d in _FONT_DIRS:
        p = Path(d) / FONT_FILES[name]
        if p.exists():
            return p
    return None


def available_fonts() -> list[str]:
    return [n for n in FONT_FILES if font_path(n) is not None]


def fill(template: str, rng: random.Random) -> str:
    return "".join(
        rng.choice(_LETTERS) if c == "L" else rng.choice(string.digits) if c == "D" else c for c in template
    )


@dataclass(frozen=True)
class PlateStyle:
    font: str = "dejavu-sans"
    label: str = "MODEL"
    layout: str = "right"  # right | below | merged


@dataclass(frozen=True)
class StyledTruth:
    manufacturer: str
    model: str
    serial: str
    year: int
    style: PlateStyle


def _font(name: str, size: int, text: str) -> ImageFont.FreeTypeFont:
    # DejaVu has no kanji: Japanese words are set in the CJK font, as mixed-font plates are.
    use = CJK_FONT if any(ord(c) > 0x2E80 for c in text) else name
    path = font_path(use) or font_path(CJK_FONT)
    if path is None:
        raise RuntimeError("no TrueType font found (install fonts-dejavu-core or fonts-ipafont-gothic)")
    return ImageFont.truetype(str(path), size)


def render_styled(truth: StyledTruth, rng: random.Random) -> np.ndarray:
    """The flat plate (BGR) in ``truth.style``; the other lines carry ratings that look like models."""
    st = truth.style
    w, h = 640, 340
    base = rng.choice([(205, 205, 200), (230, 232, 235), (190, 195, 200)])
    img = Image.new("RGB", (w, h), base)
    d = ImageDraw.Draw(img)
    d.rectangle([4, 4, w - 5, h - 5], outline=(40, 40, 40), width=2)
    ink = (25, 25, 25)
    x0, y = 22, 16

    def text(x: int, yy: int, s: str, size: int) -> int:
        """Draw ``s``; returns its right edge."""
        f = _font(st.font, size, s)
        d.text((x, yy), s, font=f, fill=ink)
        return x + int(d.textlength(s, font=f))

    text(x0, y, truth.manufacturer, 34)
    y += 48
    text(x0, y, rng.choice(["電気洗濯機", "WASHING MACHINE", "冷凍冷蔵庫", "ROOM AIR CONDITIONER"]), 22)
    y += 38
    size = 30
    if st.layout == "merged":
        text(x0, y, f"{st.label}{truth.model}", size)
        y += 44
    elif st.layout == "right":
        right = text(x0, y, st.label, size)
        text(max(right + 70, x0 + 200), y, truth.model, size)
        y += 44
    else:  # below
        text(x0, y, st.label, 22)
        y += 30
        text(x0, y, truth.model, size)
        y += 44
    text(x0, y, f"定格電圧 AC100V  {rng.choice(['50/60Hz', '50Hz', '60Hz'])}", 22)
    y += 34
    text(x0, y, f"消費電力 {rng.randint(3, 15) * 100}W   {rng.randint(2, 15) / 10:.1f}A", 22)
    y += 34
    text(x0, y, f"S/N {truth.serial}   製造年 {truth.year}年", 22)
    y += 34
    text(x0, y, rng.choice(["MADE IN JAPAN", "日本製", "MADE IN CHINA"]), 18)
    return np.array(img)[:, :, ::-1].copy()


def random_styled_truth(rng: random.Random, style: PlateStyle, maker: str | None = None) -> StyledTruth:
    makers = {**UNKNOWN_MAKERS, **ISSUE_MAKER}
    maker = maker or rng.choice(sorted(makers))
    model = fill(rng.choice(makers[maker]), rng)
    serial = f"{rng.randint(1, 9)}{rng.choice(_LETTERS)}{rng.randint(0, 99999999):08d}"
    return StyledTruth(maker, model, serial, rng.randint(2005, 2024), style)


def styled_frame(
    seed: int, style: PlateStyle, angle_deg: float = 0.0, maker: str | None = None,
    size: tuple[int, int] = (1280, 720), scale: float = 1.0,
) -> tuple[np.ndarray, StyledTruth]:
    """One reproducible frame: sharp, well lit, rotated by ``angle_deg``, mild tilt and sensor noise;
    ``scale`` < 1 is a plate further from the camera (smaller text)."""
    rng = random.Random(seed)
    truth = random_styled_truth(rng, style, maker)
    dist = Distortion(
        angle_deg=angle_deg, tilt_deg=rng.uniform(-3, 3), blur_sigma=0.4, glare=0.0, noise=2.0, scale=scale
    )
    return place(render_styled(truth, rng), dist, rng, size), truth
