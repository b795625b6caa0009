"""Match line identifications (GS1 codes, OCR model numbers) to composition records.

Order: GTIN, then model exact, normalised (case, separators, O/0, I/1), then fuzzy with a score. A
fuzzy match is accepted only above ``FUZZY_ACCEPT`` and clearly ahead of the runner-up; everything else
is ``unmatched`` with its candidates listed for an operator, never guessed silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from gateway.composition.rows import Candidate, ModelIndexRow
from junkan.core.json_types import JsonObject

FUZZY_ACCEPT = 0.82
FUZZY_MARGIN = 0.05
_SEPARATORS = re.compile(r"[\s\-_./]+")
_CONFUSABLE = str.maketrans({"O": "0", "I": "1"})


def normalise_model(model: str) -> str:
    """Canonical spelling for comparison: upper case, no separators, O->0 and I->1 (OCR confusions)."""
    return _SEPARATORS.sub("", model.upper()).translate(_CONFUSABLE)


def normalise_gtin(gtin: str | None) -> str | None:
    if not gtin:
        return None
    digits = re.sub(r"\D", "", gtin)
    return digits.zfill(14) if 8 <= len(digits) <= 14 else None


@dataclass
class MatchResult:
    status: str  # matched | unmatched
    product_id: str | None = None
    model: str | None = None
    method: str | None = None  # gtin | exact | normalised | fuzzy
    score: float | None = None
    observed: list[str] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)


def observed_models(data: JsonObject) -> tuple[list[str], list[tuple[str, float]]]:
    """GTINs and (model, confidence) strings an ident reading's data (the camera's JSON, read defensively: no
    model validates it) carries, most trusted first."""
    gtins: list[str] = []
    models: list[tuple[str, float]] = []
    for code in data.get("codes") or []:
        if not isinstance(code, dict):
            continue
        gs1 = code.get("gs1") or {}
        if isinstance(gs1, dict):
            if (g := normalise_gtin(str(gs1.get("01") or ""))) is not None:
                gtins.append(g)
            if gs1.get("8013"):
                models.append((str(gs1["8013"]), 1.0))
    for cand in data.get("model_candidates") or []:
        if isinstance(cand, dict) and cand.get("model"):
            try:
                conf = float(cand.get("confidence", 0.0))
            except (TypeError, ValueError):
                conf = 0.0
            models.append((str(cand["model"]), conf))
    models.sort(key=lambda m: -m[1])
    return gtins, models


def match_ident(data: JsonObject, index: list[ModelIndexRow]) -> MatchResult:
    """Pure: match one ident reading's data against ``index`` rows (product_id, model, model_norm, gtin)."""
    gtins, models = observed_models(data)
    observed = [f"gtin:{g}" for g in gtins] + [m for m, _ in models]
    by_gtin = {normalise_gtin(r["gtin"]): r for r in index if r["gtin"]}
    for g in gtins:
        if g in by_gtin:
            row = by_gtin[g]
            return MatchResult("matched", row["product_id"], row["model"], "gtin", 1.0, observed)
    for model, _ in models:
        exact = [r for r in index if r["model"] == model]
        if len(exact) == 1:
            return MatchResult("matched", exact[0]["product_id"], exact[0]["model"], "exact", 1.0, observed)
    for model, _ in models:
        norm = normalise_model(model)
        hits = [r for r in index if r["model_norm"] == norm]
        if len({r["product_id"] for r in hits}) == 1:
            return MatchResult("matched", hits[0]["product_id"], hits[0]["model"], "normalised", 1.0, observed)
    scored: dict[str, tuple[float, ModelIndexRow, str]] = {}
    for model, conf in models:
        norm = normalise_model(model)
        for r in index:
            score = SequenceMatcher(None, norm, r["model_norm"]).ratio() * (0.5 + 0.5 * min(max(conf, 0.0), 1.0))
            if score > scored.get(r["product_id"], (0.0, r, ""))[0]:
                scored[r["product_id"]] = (score, r, model)
    ranked = sorted(scored.values(), key=lambda s: -s[0])
    candidates: list[Candidate] = [{"product_id": r["product_id"], "model": r["model"], "score": round(s, 4),
                                    "observed": m} for s, r, m in ranked[:5]]
    if ranked:
        best = ranked[0][0]
        runner_up = ranked[1][0] if len(ranked) > 1 else 0.0
        if best >= FUZZY_ACCEPT and best - runner_up >= FUZZY_MARGIN:
            row = ranked[0][1]
            return MatchResult("matched", row["product_id"], row["model"], "fuzzy", round(best, 4), observed,
                               candidates)
    return MatchResult("unmatched", observed=observed, candidates=candidates)
