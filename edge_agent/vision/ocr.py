"""Rating-plate OCR (RapidOCR, ONNX models shipped in its wheel) and model-number extraction.

Old appliances carry printed rating plates far more often than barcodes, so the model number has to be
read as text. OCR confuses O/0, I/1, S/5, B/8, Z/2; manufacturer patterns tell which slots are digits
and which are letters, so a misread like ``NA-FAW12OV1`` can be repaired to ``NA-FAW120V1`` (with a lower
confidence) instead of being lost.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

# Default manufacturer patterns (regex, full match); configurable per camera.
DEFAULT_MODEL_PATTERNS: dict[str, list[str]] = {
    "Panasonic": [r"NA-FA[A-Z]\d{3}[A-Z]\d", r"NR-[A-Z]\d{3}[A-Z]\d", r"CS-\d{4}[A-Z]"],
    "Hitachi": [r"BW-V\d{2}[A-Z]", r"R-[A-Z]\d{4}[A-Z]", r"RAS-[A-Z]\d{2}[A-Z]"],
    "Sharp": [r"ES-[A-Z]{2}\d[A-Z]", r"SJ-[A-Z]\d{2}[A-Z]", r"AY-[A-Z]\d{2}[A-Z]"],
    "Mitsubishi": [r"MR-[A-Z]\d{2}[A-Z]", r"MSZ-[A-Z]{2}\d{4}"],
    "Toshiba": [r"AW-\d{2}[A-Z]{2}\d", r"GR-[A-Z]\d{3}[A-Z]"],
    "Daikin": [r"AN\d{2}[A-Z]{3}S-W", r"F\d{2}[A-Z]{3}V"],
}
MODEL_LABEL = re.compile(r"M[O0]DE[L1I]|TYPE|形名|型式|型番", re.IGNORECASE)
# What OCR reads in place of a digit / a letter.
_AS_DIGIT = {"O": "0", "D": "0", "Q": "0", "I": "1", "L": "1", "S": "5", "B": "8", "Z": "2", "G": "6"}
_AS_LETTER = {v: k for k, v in _AS_DIGIT.items() if k not in ("D", "Q", "L")}
_SUB_PENALTY = 0.93
_NO_LABEL_PENALTY = 0.85
_NO_MAKER_PENALTY = 0.9


@dataclass(frozen=True)
class OcrLine:
    text: str
    score: float
    box: list[list[float]]


@dataclass(frozen=True)
class ModelCandidate:
    model: str
    confidence: float
    manufacturer: str | None
    source: str  # "ocr" or "gs1"

    def as_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "confidence": round(self.confidence, 3),
            "manufacturer": self.manufacturer,
            "source": self.source,
        }


def tolerant(pattern: str) -> str:
    """Loosen a strict pattern so confusable characters still match in digit/letter slots."""
    loose_digit = "[0-9ODQILSBZG]"
    loose_letter = "[A-Z0-9]"
    loose = pattern.replace(r"\d", loose_digit).replace("[A-Z]", loose_letter)
    return f"(?:{loose})(?![A-Z0-9])"  # no match that stops inside a longer token


def repair(token: str, strict: re.Pattern[str], max_subs: int = 4) -> tuple[str, int] | None:
    """Smallest set of confusion swaps that makes ``token`` fully match ``strict`` (text, swaps)."""
    if strict.fullmatch(token):
        return token, 0
    spots = [i for i, c in enumerate(token) if c in _AS_DIGIT or c in _AS_LETTER]
    for k in range(1, min(max_subs, len(spots)) + 1):
        for combo in itertools.combinations(spots, k):
            chars = list(token)
            for i in combo:
                c = chars[i]
                chars[i] = _AS_DIGIT.get(c) or _AS_LETTER.get(c, c)
            fixed = "".join(chars)
            if strict.fullmatch(fixed):
                return fixed, k
    return None


def model_candidates(
    lines: list[OcrLine], patterns: dict[str, list[str]], gs1_models: list[str] | None = None
) -> list[ModelCandidate]:
    """Model-number candidates from OCR lines (best first), plus AI (8013) from codes at confidence 1."""
    best: dict[str, ModelCandidate] = {}

    def keep(c: ModelCandidate) -> None:
        if c.model not in best or best[c.model].confidence < c.confidence:
            best[c.model] = c

    for model in gs1_models or []:
        keep(ModelCandidate(model, 1.0, None, "gs1"))
    all_text = " ".join(line.text.upper() for line in lines)
    compiled = [(maker, re.compile(p), re.compile(tolerant(p))) for maker, ps in patterns.items() for p in ps]
    for idx, line in enumerate(lines):
        text = line.text.upper()
        prev = lines[idx - 1].text if idx > 0 else ""
        labelled = bool(MODEL_LABEL.search(text) or MODEL_LABEL.search(prev))
        # OCR drops or inserts spaces; look at both spellings, strict patterns never span a space.
        for variant in {text, text.replace(" ", "")}:
            for maker, strict, loose in compiled:
                for m in loose.finditer(variant):
                    fixed = repair(m.group(0), strict)
                    if fixed is None:
                        continue
                    model, subs = fixed
                    conf = line.score * _SUB_PENALTY**subs
                    conf *= 1.0 if labelled else _NO_LABEL_PENALTY
                    conf *= 1.0 if maker.upper() in all_text else _NO_MAKER_PENALTY
                    keep(ModelCandidate(model, conf, maker, "ocr"))
    return sorted(best.values(), key=lambda c: -c.confidence)


class PlateReader:
    """RapidOCR engine held by one camera (loading takes ~1 s, so it is built once at start)."""

    def __init__(self, threads: int = 1, text_score: float = 0.5) -> None:
        from rapidocr_onnxruntime import RapidOCR  # heavy import: only cameras with OCR pay for it

        self._engine = RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1, text_score=text_score)

    def read(self, frame: np.ndarray, roi: tuple[int, int, int, int] | None = None) -> list[OcrLine]:
        """Text lines in the frame (or in ``roi`` = x, y, w, h pixels), top to bottom."""
        img = frame
        ox = oy = 0
        if roi is not None:
            x, y, w, h = roi
            img = frame[y : y + h, x : x + w]
            ox, oy = x, y
        if img.size == 0:
            return []
        result, _ = self._engine(img)
        lines = []
        for box, text, score in result or []:
            pts = [[float(px) + ox, float(py) + oy] for px, py in box]
            lines.append(OcrLine(str(text), float(score), pts))
        lines.sort(key=lambda ln: (ln.box[0][1], ln.box[0][0]))
        return lines
