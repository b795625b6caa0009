"""Identification matching: GTIN, exact, normalised, fuzzy with a score; the unmatched queue."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gateway.composition.ident_repo import list_matches, lot_products, match_lot, resolve
from gateway.composition.matching import match_ident, normalise_model
from gateway.store.db import Database

INDEX = [
    {"product_id": "P1", "model": "AZ-32LX1", "model_norm": normalise_model("AZ-32LX1"), "gtin": "04912345000128"},
    {"product_id": "P2", "model": "KM-24O1B", "model_norm": normalise_model("KM-24O1B"), "gtin": None},
    {"product_id": "P3", "model": "HR-300", "model_norm": normalise_model("HR-300"), "gtin": None},
    {"product_id": "P4", "model": "HR-3000", "model_norm": normalise_model("HR-3000"), "gtin": None},
]


def cand(model: str, conf: float = 0.95) -> dict[str, Any]:
    return {"codes": [], "model_candidates": [{"model": model, "confidence": conf}]}


def test_gtin_wins_over_ocr() -> None:
    data = {"codes": [{"format": "QR", "text": "x", "gs1": {"01": "4912345000128", "21": "S1"}}],
            "model_candidates": [{"model": "HR-300", "confidence": 0.99}]}
    r = match_ident(data, INDEX)
    assert (r.status, r.product_id, r.method) == ("matched", "P1", "gtin")


def test_exact_normalised_and_gs1_model_ai() -> None:
    assert match_ident(cand("AZ-32LX1"), INDEX).method == "exact"
    for spelling in ("az32lx1", "AZ 32 LX1", "KM-2401B", "km24o1b", "AZ-32LXI"):
        r = match_ident(cand(spelling), INDEX)
        assert r.status == "matched" and r.method == "normalised", spelling
    gs1 = match_ident({"codes": [{"format": "DataMatrix", "text": "", "gs1": {"8013": "HR-300"}}]}, INDEX)
    assert gs1.product_id == "P3" and gs1.method == "exact"


def test_fuzzy_only_when_clearly_best() -> None:
    r = match_ident(cand("AZ-32LX7"), INDEX)  # one wrong character, no close rival
    assert r.status == "matched" and r.method == "fuzzy" and 0.82 <= r.score < 1
    family = [*INDEX, {"product_id": "P5", "model": "AZ-32LX2", "model_norm": "AZ32LX2", "gtin": None}]
    rival = match_ident(cand("AZ-32LX7"), family)  # as close to LX1 as to LX2: never guessed
    assert rival.status == "unmatched" and {c["product_id"] for c in rival.candidates[:2]} == {"P1", "P5"}
    low = match_ident(cand("AZ-32LX7", conf=0.2), INDEX)  # OCR unsure: score drops below acceptance
    assert low.status == "unmatched" and low.candidates[0]["product_id"] == "P1"
    assert match_ident({"codes": [], "model_candidates": []}, INDEX).status == "unmatched"


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_ ./abcxyzoi", max_size=20))
def test_normalise_idempotent_and_separator_blind(text: str) -> None:
    once = normalise_model(text)
    assert normalise_model(once) == once
    assert normalise_model(text.replace("-", " ")) == once
    assert "O" not in once and "I" not in once


def test_lot_matching_queue_and_operator_resolution(plant: dict[str, Any]) -> None:
    db: Database = plant["db"]
    counts = match_lot(db, plant["store"], "IN-1")
    assert counts == {"matched": 5, "unmatched": 1}
    (open_item,) = list_matches(db, lot_id="IN-1", status="unmatched")
    assert open_item["observed"]["strings"] == ["ZZ-999"] and open_item["candidates"]
    methods = sorted(m["method"] for m in list_matches(db, lot_id="IN-1", status="matched"))
    assert methods == ["exact", "exact", "gtin", "normalised", "normalised"]
    resolve(db, open_item["agent"], open_item["msg_id"], open_item["idx"], "HOS-HR-300", "op-1")
    assert match_lot(db, plant["store"], "IN-1")["resolved"] == 1  # decision survives a re-match
    products = {p["model"]: p["n_items"] for p in lot_products(db, "IN-1")}
    assert products == {"AZ-32LX1": 3, "KM-24O1B": 2, "HR-300": 1}
