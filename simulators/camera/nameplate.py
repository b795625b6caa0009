"""Rendered appliance rating plates: manufacturer, model, serial, year, optional QR/DataMatrix/Code128.

Each plate comes with its ground truth so decode and OCR rates can be measured, not guessed. The model
numbers follow the manufacturer patterns in ``firmware_configs/devices/camera.example.yaml``.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import zxingcpp

# Manufacturer -> model template: L letter, D digit, others literal (patterns stay regex-matchable).
MODEL_TEMPLATES: dict[str, list[str]] = {
    "Panasonic": ["NA-FALDDDLD", "NR-LDDDLD", "CS-DDDDL"],
    "Hitachi": ["BW-VDDL", "R-LDDDDL", "RAS-LDDL"],
    "Sharp": ["ES-LLDL", "SJ-LDDL", "AY-LDDL"],
    "Mitsubishi": ["MR-LDDL", "MSZ-LLDDDD"],
    "Toshiba": ["AW-DDLLD", "GR-LDDDL"],
    "Daikin": ["ANDDLLLS-W", "FDDLLLV"],
}
PRODUCTS = ["WASHING MACHINE", "REFRIGERATOR", "ROOM AIR CONDITIONER", "TELEVISION"]
# Letters that OCR confuses with digits are avoided in templates' letter slots less often than real life:
_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"


def _fill(template: str, rng: random.Random) -> str:
    out = []
    for ch in template:
        if ch == "L":
            out.append(rng.choice(_LETTERS))
        elif ch == "D":
            out.append(rng.choice(string.digits))
        else:
            out.append(ch)
    return "".join(out)


@dataclass
class PlateTruth:
    manufacturer: str
    model: str
    serial: str
    year: int
    code_format: str | None = None
    code_text: str | None = None
    gs1: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "manufacturer": self.manufacturer,
            "model": self.model,
            "serial": self.serial,
            "year": self.year,
            "code_format": self.code_format,
            "code_text": self.code_text,
            "gs1": self.gs1,
        }


def random_truth(rng: random.Random, code: str | None = "random") -> PlateTruth:
    """A plausible plate: manufacturer/model from the templates, serial, year, optional GS1 code."""
    maker = rng.choice(sorted(MODEL_TEMPLATES))
    model = _fill(rng.choice(MODEL_TEMPLATES[maker]), rng)
    serial = f"{rng.randint(1, 9)}{rng.choice(_LETTERS)}{rng.randint(0, 99999999):08d}"
    year = rng.randint(2005, 2024)
    truth = PlateTruth(maker, model, serial, year)
    fmt = rng.choice(["qr", "datamatrix", "code128"]) if code == "random" else code
    if fmt:
        _add_code(truth, fmt, rng)
    return truth


def _add_code(truth: PlateTruth, fmt: str, rng: random.Random) -> None:
    """GS1 code with GTIN, serial and (2-D codes) the model in AI 8013."""
    serial, model = truth.serial, truth.model
    body = f"{rng.randint(0, 10**11):011d}"
    gtin = "0" + "45" + body[:10]
    gtin += str(_check_digit(gtin))
    truth.gs1 = {"01": gtin, "21": serial, "8013": model}
    truth.code_format = fmt
    if fmt == "qr":
        truth.code_text = f"https://id.example-maker.jp/01/{gtin}/21/{serial}?8013={model}"
    elif fmt == "code128":  # 1-D codes stay short: GTIN + serial only
        truth.gs1 = {"01": gtin, "21": serial}
        truth.code_text = f"(01){gtin}(21){serial}"
    else:
        truth.code_text = f"(01){gtin}(21){serial}(8013){model}"


def _check_digit(body: str) -> int:
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def code_image(fmt: str, text: str, module_px: int = 4) -> np.ndarray:
    """Grayscale barcode bitmap via zxing-cpp's writer (GS1 mode for bracketed element strings)."""
    zfmt = {
        "qr": zxingcpp.BarcodeFormat.QRCode,
        "datamatrix": zxingcpp.BarcodeFormat.DataMatrix,
        "code128": zxingcpp.BarcodeFormat.Code128,
    }[fmt]
    barcode = zxingcpp.create_barcode(text, zfmt, gs1=text.startswith("("))
    img = np.array(barcode.to_image(scale=module_px if fmt != "code128" else 2))
    if fmt == "code128" and img.shape[0] < 80:
        img = cv2.resize(img, (img.shape[1], 80), interpolation=cv2.INTER_NEAREST)
    return img


def render_plate(truth: PlateTruth, rng: random.Random) -> np.ndarray:
    """The flat plate (BGR): brushed-metal or white label, text lines, code at the right."""
    h, w = 300, 620
    base = rng.choice([(205, 205, 200), (230, 232, 235), (190, 195, 200)])
    plate = np.full((h, w, 3), base, np.uint8)
    streaks = np.random.default_rng(rng.randint(0, 2**31)).normal(0, 4, (1, w, 1)).astype(np.int16)
    plate = np.clip(plate.astype(np.int16) + streaks, 0, 255).astype(np.uint8)
    cv2.rectangle(plate, (4, 4), (w - 5, h - 5), (40, 40, 40), 2)
    font, ink = cv2.FONT_HERSHEY_DUPLEX, (25, 25, 25)
    lines = [
        (truth.manufacturer.upper(), 1.1, 2),
        (rng.choice(PRODUCTS), 0.7, 1),
        (f"MODEL {truth.model}", 0.95, 2),
        (f"SERIAL No. {truth.serial}", 0.8, 1),
        (f"MFD {truth.year}.{rng.randint(1, 12):02d}", 0.8, 1),
        (f"AC 100V 50/60Hz {rng.randint(2, 15) / 10:.1f}A", 0.7, 1),
        ("MADE IN JAPAN", 0.6, 1),
    ]
    y = 42
    for text, scale, thick in lines:
        cv2.putText(plate, text, (18, y), font, scale, ink, thick, cv2.LINE_AA)
        y += int(38 * max(scale, 0.8))
    if truth.code_format and truth.code_text:
        code = code_image(truth.code_format, truth.code_text)
        max_w = 200
        if truth.code_format != "code128" and code.shape[1] > max_w:
            code = cv2.resize(
                code, (max_w, int(code.shape[0] * max_w / code.shape[1])), interpolation=cv2.INTER_NEAREST
            )
        ch, cw = code.shape[:2]
        if truth.code_format == "code128":  # below the text, at native module width (never resampled)
            fill = plate[h // 2, w // 2]
            if cw + 40 > w:
                plate = np.hstack([plate, np.full((h, cw + 40 - w, 3), fill, np.uint8)])
            plate = np.vstack([plate, np.full((ch + 30, plate.shape[1], 3), fill, np.uint8)])
            plate[h + 10 : h + 10 + ch, 20 : 20 + cw] = code[:, :, None]
        else:
            plate[20 : 20 + ch, w - cw - 20 : w - 20] = code[:, :, None]
    return plate


@dataclass(frozen=True)
class Distortion:
    """Capture conditions: rotation/tilt in degrees, Gaussian blur sigma (px), glare strength 0..1."""

    angle_deg: float = 0.0
    tilt_deg: float = 0.0
    blur_sigma: float = 0.0
    glare: float = 0.0
    noise: float = 3.0
    scale: float = 1.0


def random_distortion(rng: random.Random, severity: str = "typical") -> Distortion:
    """'typical' = what a fixed station camera sees; 'hard' adds more angle, blur and glare."""
    k = 1.0 if severity == "typical" else 2.0
    return Distortion(
        angle_deg=rng.uniform(-12, 12) * k,
        tilt_deg=rng.uniform(-10, 10) * k,
        blur_sigma=rng.uniform(0, 1.0) * k,
        glare=rng.uniform(0, 0.35) * k,
        noise=rng.uniform(1, 4) * k,
        scale=rng.uniform(0.85, 1.15),
    )


def place(plate: np.ndarray, dist: Distortion, rng: random.Random, size: tuple[int, int] = (1280, 720)) -> np.ndarray:
    """Warp the plate into a frame (perspective tilt + rotation), then blur, glare and sensor noise."""
    fw, fh = size
    ph, pw = plate.shape[:2]
    s = dist.scale * min(0.75 * fw / pw, 0.8 * fh / ph, 1.6)
    cx, cy = fw / 2 + rng.uniform(-60, 60), fh / 2 + rng.uniform(-40, 40)
    src = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float32)
    half = np.array([[-pw, -ph], [pw, -ph], [pw, ph], [-pw, ph]], np.float32) * s / 2
    t = np.tan(np.radians(dist.tilt_deg)) * 0.5  # keystone: one side shorter
    half[0, 1] *= 1 - t
    half[3, 1] *= 1 - t
    half[1, 1] *= 1 + t
    half[2, 1] *= 1 + t
    a = np.radians(dist.angle_deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]], np.float32)
    dst = (half @ rot.T + np.array([cx, cy], np.float32)).astype(np.float32)
    m = cv2.getPerspectiveTransform(src, dst)
    gen = np.random.default_rng(rng.randint(0, 2**31))
    bg_color = gen.integers(40, 120, 3)
    frame: np.ndarray = np.empty((fh, fw, 3), np.uint8)
    frame[:] = bg_color
    frame = cv2.warpPerspective(plate, m, (fw, fh), dst=frame, borderMode=cv2.BORDER_TRANSPARENT)
    if dist.blur_sigma > 0.05:
        frame = cv2.GaussianBlur(frame, (0, 0), dist.blur_sigma)
    out = frame.astype(np.float32)
    if dist.glare > 0:
        yy, xx = np.mgrid[0:fh, 0:fw]
        gx, gy = rng.uniform(0.2, 0.8) * fw, rng.uniform(0.2, 0.8) * fh
        r = rng.uniform(80, 220)
        out += 255 * dist.glare * np.exp(-((xx - gx) ** 2 + (yy - gy) ** 2) / (2 * r * r))[..., None]
    out += gen.normal(0, dist.noise, out.shape)
    return np.clip(out, 0, 255).astype(np.uint8)


def model_plate_frame(
    model: str, serial: str, seed: int, code: str = "datamatrix", maker: str = "JUNKAN SIM",
    severity: str = "typical", size: tuple[int, int] = (1280, 720),
) -> tuple[np.ndarray, PlateTruth]:
    """A given product model's plate (a scenario's models follow no template), its code carrying AI 8013."""
    rng = random.Random(seed)
    truth = PlateTruth(maker, model, serial, rng.randint(2005, 2024))
    _add_code(truth, code, rng)
    dist = random_distortion(rng, severity)
    return place(render_plate(truth, rng), dist, rng, size), truth


def nameplate_frame(
    seed: int, code: str | None = "random", severity: str = "typical", size: tuple[int, int] = (1280, 720)
) -> tuple[np.ndarray, PlateTruth, Distortion]:
    """One reproducible frame (BGR) with its truth and distortion."""
    rng = random.Random(seed)
    truth = random_truth(rng, code)
    dist = random_distortion(rng, severity)
    return place(render_plate(truth, rng), dist, rng, size), truth, dist
