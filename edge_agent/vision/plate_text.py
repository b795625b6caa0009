"""Model number from the structure of a rating plate, for makers the agent has no pattern for.

Per-maker regexes only know the series someone typed in; a plate of any maker says where its model
number is: after a label word (MODEL, MODEL NO., TYPE, MOD., 形名, 型式, 型番) on the same line, in the
box to the right of the label, or on the line below it. OCR also runs label and value together
(``MODELNA-FW10K3``), so labels are cut off the front of tokens. Values must look like a model number
(letters and digits, 4-20 characters) and not like a rating (100V, 50/60Hz, 1200W), a serial or a date.
Label-anchored values rank above values found by their shape alone. Everything here is a pure function
of the OCR lines (text and boxes) and never raises: a bad box is ignored, not an error.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

# Label words; O/0 and L/1/I confusions of OCR are tolerated, a preceding letter is not (PROTOTYPE).
LABEL = re.compile(
    r"(?:M[O0]DE[L1I](?:\s*N[O0](?:\s*[.:,]|\s+)|\s*NUMBER)?|(?<![A-Z0-9])M[O0]D\s*\."
    r"|(?<![A-Z0-9])TYPE(?:\s*N[O0](?:\s*[.:,]|\s+))?|[形型]\s*[名式番]|品\s*番|機\s*種)\s*[:.#]?\s*"
)
# Lines that name a serial number: their values are not model numbers.
SERIAL_LABEL = re.compile(r"S\s*/\s*N|SERIAL|SER\.|製造番号|製番|ロット|LOT")
_NOT_MODEL = [
    re.compile(p)
    for p in (
        r"(?:AC|DC)?\d+(?:[.,]\d+)?(?:[-~/]\d+(?:[.,]\d+)?)*(?:K?V|K?W|M?A|HZ|KWH|VA|KG|G|L|MM|CM|M|[MK]PA|RPM|DB|°C|C)~?",
        r"(?:AC|DC)\d+(?:[-~/]\d+)*V?",
        r"\d+(?:/\d+)+(?:HZ)?",
        r"(?:19|20)\d{2}(?:年(?:\d{1,2}月?)?)?",
        r"(?:19|20)\d{2}[./-]\d{1,2}(?:[./-]\d{1,2})?|\d{1,2}[./-](?:19|20)\d{2}",
        r"R-?\d{2,3}[A-Z]?",  # refrigerants R32, R410A, R600a
        r"IP[X\d]\d",
        r"S/?N\d*",
    )
]
# Inside a token no label vouches for: ratings run together by OCR (AC100V50/60HZ1.4A).
_RATING_INSIDE = re.compile(r"HZ|^(?:AC|DC)\d|\d(?:K?W|V|KG)(?:\d|$)")
_TOKEN = re.compile(r"[A-Z0-9][A-Z0-9\-/.]*")
LABEL_INLINE, LABEL_RIGHT, LABEL_BELOW, SHAPE_ONLY = 0.97, 0.95, 0.92, 0.6
_NO_SEPARATOR = 0.75  # shape-only tokens without - or / are often serials or codes


@dataclass(frozen=True)
class PlateValue:
    """A model-number reading found on the plate: text, confidence in 0..1 and why it was chosen."""

    model: str
    confidence: float
    reason: str


@dataclass(frozen=True)
class _Geom:
    """A line's extent in plate coordinates (rotated so text runs along u)."""

    u0: float
    u1: float
    v0: float
    v1: float

    @property
    def h(self) -> float:
        return max(self.v1 - self.v0, 1.0)

    @property
    def vc(self) -> float:
        return (self.v0 + self.v1) / 2


def normalise(text: str) -> str:
    """NFKC (full-width -> ASCII) and upper case; what the label and shape rules are written for."""
    return unicodedata.normalize("NFKC", text).upper()


def clean(token: str) -> str:
    return token.strip(".-/:,;()[]")


def looks_like_model(token: str, strict: bool = False) -> bool:
    """Letters and digits, 4-20 characters, not a rating, frequency, date, refrigerant or serial label.

    ``strict`` (no label anchors it) also wants two letters, or a separator, so bare serials stay out.
    """
    t = clean(token)
    if not 4 <= len(t) <= 20 or not re.fullmatch(r"[A-Z0-9][A-Z0-9\-/.]*", t):
        return False
    if not re.search(r"[A-Z]", t) or not re.search(r"\d", t):
        return False
    if any(p.fullmatch(t) for p in _NOT_MODEL):
        return False
    if "." in t and not re.search(r"[A-Z]", t.split(".")[0]):
        return False  # 1.4A, 2019.05
    if not strict:
        return True
    if _RATING_INSIDE.search(t):
        return False
    return bool(re.search(r"[-/]", t)) or len(re.findall(r"[A-Z]", t)) >= 2


def _geometry(boxes: list[list[list[float]]]) -> list[_Geom | None]:
    """Boxes in coordinates rotated by the plate's median text angle (a rotated plate still has lines)."""
    angles = []
    for b in boxes:
        try:
            (x0, y0), (x1, y1) = b[0][:2], b[1][:2]
            if math.hypot(x1 - x0, y1 - y0) > 1:
                angles.append(math.atan2(y1 - y0, x1 - x0))
        except (IndexError, TypeError, ValueError):
            continue
    a = sorted(angles)[len(angles) // 2] if angles else 0.0
    ca, sa = math.cos(a), math.sin(a)
    out: list[_Geom | None] = []
    for b in boxes:
        try:
            us = [float(x) * ca + float(y) * sa for x, y, *_ in b]
            vs = [-float(x) * sa + float(y) * ca for x, y, *_ in b]
            out.append(_Geom(min(us), max(us), min(vs), max(vs)) if us else None)
        except (TypeError, ValueError):
            out.append(None)
    return out


def close_separators(text: str) -> str:
    """OCR puts spaces around dashes and slashes (``SK05 -X8636 -K``); a model number has none."""
    return re.sub(r"\s*([-/])\s*", r"\1", text)


def _first_value(rest: str) -> list[tuple[str, float]]:
    """Value tokens at the start of ``rest`` (with a factor): the first token, or two run apart by OCR."""
    toks = [t for t in (clean(t) for t in _TOKEN.findall(close_separators(rest))) if t]
    while toks and toks[0] in ("NO", "N0", "NUMBER"):  # the rest of a label OCR punctuated oddly
        toks = toks[1:]
    if not toks:
        return []
    if looks_like_model(toks[0]):
        return [(toks[0], 1.0)]
    if len(toks) > 1 and re.search(r"\d", toks[0]) and looks_like_model(toks[0] + toks[1]):
        return [(toks[0] + toks[1], 0.8)]  # a space inside the value
    return []


def _neighbour(i: int, geoms: list[_Geom | None], texts: list[str], below: bool) -> int | None:
    """Index of the line right of (same row) or below line ``i``, nearest first."""
    g = geoms[i]
    if g is None:
        return None
    best, best_d = None, math.inf
    for j, o in enumerate(geoms):
        if j == i or o is None or not texts[j].strip():
            continue
        if below:
            gap = o.v0 - g.v1
            overlaps = o.u0 < g.u1 + 3 * g.h and o.u1 > g.u0 - g.h
            if -0.3 * g.h <= gap <= 2.2 * g.h and overlaps and abs(o.vc - g.vc) > 0.6 * g.h:
                d = gap + abs(o.u0 - g.u0) * 0.1
                if d < best_d:
                    best, best_d = j, d
        else:
            gap = o.u0 - g.u1
            if abs(o.vc - g.vc) <= 0.6 * g.h and -0.5 * g.h <= gap <= 15 * g.h and gap < best_d:
                best, best_d = j, gap
    return best


def find_models(texts: list[str], scores: list[float], boxes: list[list[list[float]]]) -> list[PlateValue]:
    """Model-number candidates from OCR lines by label and shape, best first; never raises."""
    try:
        return _find(texts, scores, boxes)
    except Exception:  # a plate we cannot parse yields no candidates, not a dead camera
        return []


def _find(texts: list[str], scores: list[float], boxes: list[list[list[float]]]) -> list[PlateValue]:
    norm = [normalise(t) for t in texts]
    geoms = _geometry(boxes)
    best: dict[str, PlateValue] = {}

    def keep(model: str, conf: float, reason: str) -> None:
        if model not in best or best[model].confidence < conf:
            best[model] = PlateValue(model, round(min(conf, 1.0), 4), reason)

    for i, text in enumerate(norm):
        for m in LABEL.finditer(text):
            label = m.group(0).strip(" :.#")
            rest = text[m.end() :]
            vals = _first_value(rest)
            how = "after label" if re.search(r"[\s:.#]$", m.group(0)) else "merged with label"
            for v, f in vals:
                keep(v, LABEL_INLINE * f * scores[i], f"{how} {label!r}")
            if vals:
                continue
            for below, factor, where in ((False, LABEL_RIGHT, "right of"), (True, LABEL_BELOW, "below")):
                j = _neighbour(i, geoms, norm, below)
                if j is None or LABEL.match(norm[j]):
                    continue
                got = _first_value(norm[j])
                for v, f in got:
                    keep(v, factor * f * scores[j], f"{where} label {label!r}")
                if got:
                    break
    for i, text in enumerate(norm):
        if SERIAL_LABEL.search(text):
            continue
        stripped = close_separators(LABEL.sub(" ", text))
        for tok in _TOKEN.findall(stripped):
            t = clean(tok)
            if t in best or not looks_like_model(t, strict=True):
                continue
            f = 1.0 if re.search(r"[-/]", t) else _NO_SEPARATOR
            keep(t, SHAPE_ONLY * f * scores[i], "shape only (no label)")
    return sorted(best.values(), key=lambda c: -c.confidence)
