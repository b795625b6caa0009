"""Rating-plate OCR (RapidOCR, ONNX models shipped in its wheel) and model-number extraction.

Candidates come from three sources, merged per model: the plate's structure (label words, the value
right of or below them, value shapes; ``plate_text``) for any maker, manufacturer patterns, and codes
(GS1 AI 8013). With a catalogue of known models, exact/confusable/near matches rank first.

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

from edge_agent.vision.catalogue import Catalogue
from edge_agent.vision.plate_text import find_models, normalise

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
    reason: str = ""  # how it was found: label position, pattern, shape only, catalogue
    catalogue_match: str | None = None  # exact | confusable | near, when a catalogue was given

    def as_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "confidence": round(self.confidence, 3),
            "manufacturer": self.manufacturer,
            "source": self.source,
            "reason": self.reason,
            "catalogue_match": self.catalogue_match,
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


def _pattern_candidates(lines: list[OcrLine], patterns: dict[str, list[str]]) -> list[ModelCandidate]:
    """Candidates from manufacturer patterns, confusions repaired slot by slot."""
    out: list[ModelCandidate] = []
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
                    why = f"pattern {maker}" + (f", {subs} confusion(s) repaired" if subs else "")
                    out.append(ModelCandidate(model, conf, maker, "ocr", why))
    return out


def _fold_key(model: str) -> str:
    return re.sub(r"[\s\-_./]+", "", model.upper()).translate(_FOLD_TABLE)


_FOLD_TABLE = str.maketrans(_AS_DIGIT)


def _maker_in_text(lines: list[OcrLine], makers: list[str]) -> str | None:
    text = " ".join(normalise(ln.text) for ln in lines)
    squashed = text.replace(" ", "")
    for maker in makers:
        if maker.upper() in text or maker.upper().replace(" ", "") in squashed:
            return maker
    return None


def model_candidates(
    lines: list[OcrLine],
    patterns: dict[str, list[str]],
    gs1_models: list[str] | None = None,
    catalogue: Catalogue | None = None,
) -> list[ModelCandidate]:
    """Model-number candidates (best first): GS1 AI 8013 at confidence 1, then OCR by structure and
    patterns; with a catalogue, its matches first (``catalogue_match`` set, catalogue spelling)."""
    best: dict[str, ModelCandidate] = {}

    def keep(c: ModelCandidate) -> None:
        old = best.get(c.model)
        if old is None or old.confidence < c.confidence:
            reason = c.reason if old is None or old.reason in c.reason else f"{c.reason}; {old.reason}"
            best[c.model] = ModelCandidate(
                c.model, c.confidence, c.manufacturer or (old.manufacturer if old else None), c.source, reason,
                c.catalogue_match,
            )
        elif c.reason not in old.reason:
            best[c.model] = ModelCandidate(
                old.model, old.confidence, old.manufacturer or c.manufacturer, old.source,
                f"{old.reason}; {c.reason}", old.catalogue_match,
            )

    for model in gs1_models or []:
        keep(ModelCandidate(model, 1.0, None, "gs1", "GS1 AI 8013"))
    pattern = _pattern_candidates(lines, patterns)
    for c in pattern:
        keep(c)
    # A structural read that folds onto a pattern candidate is the same text before slot repair.
    repaired = {_fold_key(c.model): c for c in pattern}
    known = {m for m in (catalogue.models.values() if catalogue else []) if m}
    maker = _maker_in_text(lines, list(patterns) + sorted(known))
    for v in find_models([ln.text for ln in lines], [ln.score for ln in lines], [ln.box for ln in lines]):
        twin = repaired.get(_fold_key(v.model))
        if twin is not None and twin.model != v.model:
            keep(ModelCandidate(twin.model, twin.confidence, twin.manufacturer, "ocr", v.reason))
            continue
        keep(ModelCandidate(v.model, v.confidence, twin.manufacturer if twin else maker, "ocr", v.reason))
    cands = list(best.values())
    if catalogue is not None and len(catalogue):
        cands = _rank_by_catalogue(cands, catalogue)
    return sorted(cands, key=lambda c: (_CATALOGUE_RANK[c.catalogue_match], -c.confidence))


_CATALOGUE_RANK = {"exact": 0, "confusable": 0, "near": 1, None: 2}
_CATALOGUE_FLOOR = {"exact": 0.95, "confusable": 0.9, "near": 0.8}


def _rank_by_catalogue(cands: list[ModelCandidate], catalogue: Catalogue) -> list[ModelCandidate]:
    """Catalogue spelling and a confidence floor (scaled by the read's own) for known models."""
    out: dict[str, ModelCandidate] = {}
    for c in cands:
        m = catalogue.match(c.model)
        if m is None:
            new = c
        else:
            conf = max(c.confidence, _CATALOGUE_FLOOR[m.kind] * min(1.0, c.confidence / 0.6))
            why = f"{c.reason}; catalogue {m.kind}" + (f" (read {c.model})" if m.model != c.model else "")
            new = ModelCandidate(m.model, min(conf, 1.0), m.manufacturer or c.manufacturer, c.source, why, m.kind)
        old = out.get(new.model)
        if old is None or (_CATALOGUE_RANK[new.catalogue_match], -new.confidence) < (
            _CATALOGUE_RANK[old.catalogue_match], -old.confidence
        ):
            out[new.model] = new
    return list(out.values())


class PlateReader:
    """RapidOCR engine held by one camera (loading takes ~1 s, so it is built once at start)."""

    def __init__(self, threads: int = 1, text_score: float = 0.5) -> None:
        from rapidocr_onnxruntime import RapidOCR  # heavy import: only cameras with OCR pay for it

        self._engine = RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1, text_score=text_score)

    def read(self, frame: np.ndarray, roi: tuple[int, int, int, int] | None = None) -> list[OcrLine]:
        """Text lines in the frame (or in ``roi`` = x, y, w, h pixels), top to bottom.

        When the text block is well inside the image, the cut-out is read first: the engine shrinks a
        4K frame below readable letter size and barely enlarges a 720p one, but enlarges a cut-out to
        736 px. The whole image is read when the cut-out gives no usable text.
        """
        img = frame
        ox = oy = 0
        if roi is not None:
            x, y, w, h = roi
            img = frame[y : y + h, x : x + w]
            ox, oy = x, y
        if img.size == 0:
            return []
        lines: list[OcrLine] = []
        from edge_agent.vision.ocr_prep import text_region  # OpenCV: the vision extra, loaded when used

        region = text_region(img)
        if region is not None and region.is_small_in(img.shape):
            crop = img[region.y : region.y + region.h, region.x : region.x + region.w]
            lines = self._run(crop, ox + region.x, oy + region.y)
        if not _usable(lines):
            whole = self._run(img, ox, oy)
            if _usable(whole) >= _usable(lines):
                lines = whole
        lines.sort(key=lambda ln: (ln.box[0][1], ln.box[0][0]))
        return lines

    def _run(self, img: np.ndarray, ox: float, oy: float) -> list[OcrLine]:
        """One engine pass; boxes mapped back to frame pixels (``img`` = frame cut at ox, oy)."""
        result, _ = self._engine(np.ascontiguousarray(img))
        lines = []
        for box, text, score in result or []:
            pts = [[float(px) + ox, float(py) + oy] for px, py in box]
            lines.append(OcrLine(str(text), float(score), pts))
        return lines


def _usable(lines: list[OcrLine]) -> int:
    """Lines with at least three letters or digits: what a plate read needs."""
    return sum(len(re.findall(r"\w", ln.text)) >= 3 for ln in lines)
