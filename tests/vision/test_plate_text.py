"""Model numbers from plate structure (labels, box geometry, shapes) and the model catalogue."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from edge_agent.vision.catalogue import Catalogue, load_catalogue
from edge_agent.vision.ocr import DEFAULT_MODEL_PATTERNS, OcrLine, _pattern_candidates, model_candidates
from edge_agent.vision.plate_text import find_models, looks_like_model
from tests.vision.measure_plates import distractor_catalogue

RECORDED = Path(__file__).parent / "data" / "styled_plates_ocr.jsonl"


def _box(x: float, y: float, w: float, h: float, deg: float = 0.0) -> list[list[float]]:
    a = math.radians(deg)
    pts = [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
    return [[px * math.cos(a) - py * math.sin(a), px * math.sin(a) + py * math.cos(a)] for px, py in pts]


def _top(lines: list[OcrLine], catalogue: Catalogue | None = None) -> str | None:
    c = [m for m in model_candidates(lines, DEFAULT_MODEL_PATTERNS, catalogue=catalogue) if m.confidence >= 0.5]
    return c[0].model if c else None


def test_issue_plate_without_pattern() -> None:
    """The reported plate: a Panasonic series no built-in pattern covers."""
    lines = [OcrLine("Panasonic MODEL NA-FW10K3 2019", 0.98, _box(10, 10, 500, 30))]
    cands = model_candidates(lines, DEFAULT_MODEL_PATTERNS)
    assert cands[0].model == "NA-FW10K3" and cands[0].manufacturer == "Panasonic"
    assert "label" in cands[0].reason and cands[0].confidence > 0.9


@pytest.mark.parametrize(
    "text", ["MODELNA-FW10K3", "形名NA-FW10K3", "型式: NA-FW10K3", "MODEL NO.NA-FW10K3", "M0DEL NA-FW10K3",
             "型番 NA-FW10K3", "TYPE NA-FW10K3", "MOD. NA-FW10K3", "ＭＯＤＥＬ　ＮＡ－ＦＷ１０Ｋ３"],
)
def test_label_merged_or_inline(text: str) -> None:
    assert _top([OcrLine(text, 0.97, _box(0, 0, 300, 30))]) == "NA-FW10K3"


@pytest.mark.parametrize("deg", [0.0, 7.0, -10.0])
def test_value_right_of_or_below_label_by_geometry(deg: float) -> None:
    right = [OcrLine("MODEL", 0.99, _box(100, 100, 80, 30, deg)), OcrLine("50Hz", 0.99, _box(100, 160, 60, 30, deg)),
             OcrLine("KM/4177-SX", 0.99, _box(300, 100, 200, 30, deg))]
    below = [OcrLine("形名", 0.99, _box(100, 100, 50, 24, deg)), OcrLine("AZ152YK", 0.99, _box(100, 132, 160, 30, deg)),
             OcrLine("S/N 7K63967760", 0.99, _box(100, 175, 220, 24, deg))]
    r = find_models([ln.text for ln in right], [ln.score for ln in right], [ln.box for ln in right])
    b = find_models([ln.text for ln in below], [ln.score for ln in below], [ln.box for ln in below])
    assert r[0].model == "KM/4177-SX" and r[0].reason.startswith("right of")
    assert b[0].model == "AZ152YK" and b[0].reason.startswith("below")


@pytest.mark.parametrize("token", ["100V", "AC100V", "50/60Hz", "1200W", "1.4A", "2019年", "2019.05", "S/N",
                                   "R410A", "R-600A", "IPX4", "100-240V", "12.5KG"])
def test_ratings_dates_and_refrigerants_are_not_models(token: str) -> None:
    assert not looks_like_model(token.upper())
    assert find_models([f"MODEL {token.upper()}"], [0.99], [_box(0, 0, 200, 30)]) == []


def test_serials_and_label_free_lines() -> None:
    lines = [OcrLine("S/N 7G12597620", 0.99, _box(0, 0, 200, 30)), OcrLine("消費電力1500W", 0.99, _box(0, 40, 200, 30)),
             OcrLine("製造年 2020年", 0.99, _box(0, 80, 200, 30))]
    assert model_candidates(lines, DEFAULT_MODEL_PATTERNS) == []
    assert find_models(["AC100V50/60HZ1.4A"], [0.99], [_box(0, 0, 200, 30)]) == []  # ratings run together
    shape = find_models(["NV-4411/K", "MADE IN JAPAN"], [0.99, 0.99], [_box(0, 0, 200, 30), _box(0, 40, 200, 30)])
    assert shape[0].model == "NV-4411/K" and shape[0].reason.startswith("shape only") and shape[0].confidence < 0.7


def test_label_anchored_outranks_shape_only() -> None:
    lines = [OcrLine("KM/1111-AA", 0.99, _box(0, 0, 200, 30)), OcrLine("MODEL TL-123", 0.9, _box(0, 40, 200, 30))]
    cands = model_candidates(lines, DEFAULT_MODEL_PATTERNS)
    assert [c.model for c in cands] == ["TL-123", "KM/1111-AA"]


@pytest.mark.parametrize("junk", [[None], [[]], [["a", "b"]], [[[1, 2]]], [[[float("nan"), 0]] * 4]])
def test_never_raises_on_bad_boxes(junk: list[object]) -> None:
    assert isinstance(find_models(["MODEL"], [0.9], junk), list)  # type: ignore[arg-type]
    assert find_models(["MODELNA-FW10K3"], [0.9], junk)[0].model == "NA-FW10K3"  # type: ignore[arg-type]
    assert find_models(["MODEL"], [], []) == []


def test_pattern_repair_beats_the_raw_structural_read() -> None:
    lines = [OcrLine("PANASONIC", 0.95, _box(0, 0, 200, 30)), OcrLine("M0DEL NA-FAWI2OV1", 0.95, _box(0, 40, 300, 30))]
    cands = model_candidates(lines, DEFAULT_MODEL_PATTERNS)
    assert cands[0].model == "NA-FAW120V1" and "NA-FAWI2OV1" not in [c.model for c in cands]


def test_catalogue_exact_confusable_near_and_ambiguous() -> None:
    cat = Catalogue({"NA-FW10K3": "Panasonic", "KM/4177-SX": None, "AB-1234": None, "A8-1234": None})
    assert cat.match("na-fw10k3").kind == "exact"  # type: ignore[union-attr]
    m = cat.match("NA-FW1OK3")
    assert m is not None and (m.model, m.kind) == ("NA-FW10K3", "confusable")
    m = cat.match("KM/4171-SX")
    assert m is not None and (m.model, m.kind) == ("KM/4177-SX", "near")
    assert cat.match("AB-I234") is None  # folds onto two known models: not ours to pick
    assert cat.match("ZZ-9999") is None


def test_catalogue_ranks_first_and_corrects_spelling() -> None:
    lines = [OcrLine("MODEL NV-1234/K", 0.99, _box(0, 0, 300, 30)), OcrLine("TL-5O8", 0.99, _box(0, 40, 100, 30))]
    assert _top(lines) == "NV-1234/K"
    cands = model_candidates(lines, DEFAULT_MODEL_PATTERNS, catalogue=Catalogue({"TL-508": "TANUKI"}))
    assert (cands[0].model, cands[0].catalogue_match, cands[0].manufacturer) == ("TL-508", "confusable", "TANUKI")
    assert "read TL-5O8" in cands[0].reason and cands[1].catalogue_match is None
    assert cands[0].as_json()["catalogue_match"] == "confusable"


def test_load_catalogue_formats(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps(["X-1", {"model": "NA-FW10K3", "manufacturer": "Panasonic"}]))
    (tmp_path / "b.csv").write_text("product_id,model,manufacturer\np1,KM/4177-SX,KIRAMEKI\n")
    (tmp_path / "c.txt").write_text("# exported by the gateway\nTL-123\n\n")
    cat = load_catalogue(["AZ152YK"], str(tmp_path / "a.json"))
    assert cat.models == {"AZ152YK": None, "X-1": None, "NA-FW10K3": "Panasonic"}
    assert load_catalogue([], str(tmp_path / "b.csv")).models == {"KM/4177-SX": "KIRAMEKI"}
    assert load_catalogue([], str(tmp_path / "c.txt")).models == {"TL-123": None}
    (tmp_path / "bad.csv").write_text("sku\n1\n")
    for bad in ("missing.txt", "bad.csv"):
        with pytest.raises(ValueError, match=bad):
            load_catalogue([], str(tmp_path / bad))


def test_recorded_ocr_of_styled_plates() -> None:
    """Real RapidOCR output of 150 styled plates (tests.vision.measure_plates --record): unknown makers,
    6 fonts, 3 layouts, 7 label words, ±10°. Patterns alone read none of them."""
    rows = [json.loads(line) for line in RECORDED.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) == 150 and all(r["lines"] for r in rows)
    hits = {"patterns": 0, "after": 0, "catalogue": 0}
    cat = distractor_catalogue([r["model"] for r in rows])
    for r in rows:
        lines = [OcrLine(t, s, b) for t, s, b in r["lines"]]
        hits["patterns"] += any(c.model == r["model"] for c in _pattern_candidates(lines, DEFAULT_MODEL_PATTERNS))
        hits["after"] += _top(lines) == r["model"]
        hits["catalogue"] += _top(lines, cat) == r["model"]
    assert hits["patterns"] == 0
    assert hits["after"] >= 147 and hits["catalogue"] >= 149, hits  # measured 149 and 150 of 150
