"""Reasons carry a code and figures: their English text is what the evidence always said, and the same
figures render in Japanese on the evidence page and the PDF certificate with none of the English wording."""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from typing import Any

import pytest

from gateway.evidence import certificate, render
from gateway.evidence.build import build_evidence
from gateway.specs.lab import LabConfirmationIn
from gateway.specs.lab_repo import attach
from gateway.specs.model import Limit, RequirementSpec
from gateway.specs.reason_text import TEMPLATES, TERMS, english_phrases, reason, text
from junkan.core.evidence import Evidence, Reason
from tests.evidence.plant import LAB_CLEAN, T0, build_plant, store_lot
from tests.evidence.scenario_store import record_scenario

SPECS = [RequirementSpec(spec_id="pp-strict", buyer="Car Parts Co", material="PP", min_purity=0.99,
                         limits=[Limit(analyte="Br", max_ppm=100, basis="max"),
                                 Limit(analyte="Cd", max_ppm=2, basis="p95"), Limit(analyte="Pb", max_ppm=50)]),
         RequirementSpec(spec_id="abs-loose", buyer="Casings", material="ABS", min_purity=0.01)]
FAILED_LAB = {**LAB_CLEAN, "results": [
    *({"analyte": g, "below_lod": True, "lod_mg_kg": 5.0} for g in ("tetraBDE", "pentaBDE", "hexaBDE", "heptaBDE",
                                                                   "PBB")),
    {"analyte": "decaBDE", "value_mg_kg": 900.0}, {"analyte": "PBDE", "value_mg_kg": 905.0}]}


def fields(template: str) -> set[tuple[str, str | None]]:
    return {(name, conv) for _, name, _, conv in string.Formatter().parse(template) if name is not None}


def test_both_languages_have_every_template_with_the_same_fields() -> None:
    for code, t in TEMPLATES.items():
        assert set(t) == {"en", "ja"}, code
        assert fields(t["en"]) == fields(t["ja"]), code
        assert not re.search("[a-z]{4,}", re.sub(r"\{[^}]*\}|junkan\.measurement/1|decaBDE|speciation", "", t["ja"])
                             .replace("Cr(VI)", "")), (code, t["ja"])
    assert all("ja" in v for v in TERMS.values())
    with pytest.raises(KeyError):
        reason("no.such.code")


def pairs(ev: Evidence) -> Iterator[tuple[str, Reason | None]]:
    """Every (text, code) pair of the document; lists must match one for one."""
    def both(plain: list[str], coded: list[Reason]) -> Iterator[tuple[str, Reason | None]]:
        assert len(plain) == len(coded), (plain, coded)
        yield from zip(plain, coded, strict=True)

    checks = [c for r in ev.conformance for c in r.checks]
    for r in ev.conformance:
        yield from both(r.reasons, r.reason_codes)
    yield from both(ev.claims.reasons, ev.claims.reason_codes)
    yield from both(ev.data_gaps, ev.data_gap_codes)
    if ev.screening is not None:
        yield from both(ev.screening.causes, ev.screening.cause_codes)
        yield from both(ev.screening.declared_bfr, ev.screening.declared_bfr_codes)
        if ev.screening.lab is not None:
            yield from both(ev.screening.lab.reasons, ev.screening.lab.reason_codes)
            checks += ev.screening.lab.checks
    for c in checks:
        yield c.check, c.check_code
        yield c.reason, c.reason_code
    for m in ev.ident_mismatches:
        yield m.reason, m.reason_code


def english_in(ja: str) -> list[str]:
    return [w for w in english_phrases() if re.search(r"(?<![A-Za-z])" + re.escape(w) + r"(?![A-Za-z])", ja)]


@pytest.fixture
def documents(gateway_store: Any) -> list[Evidence]:
    """Lots that between them give nearly every reason: a broken balance, POPs-suspect sources, a failed and a
    clearing lab result, a failed measurement, an untraced lot, a false intake record, strict specs."""
    build_plant(gateway_store, break_balance=True, lab_confirmed=False)
    attach(gateway_store.db, "ABS-OUT-1", LabConfirmationIn.model_validate(FAILED_LAB), "lab-clerk")
    attach(gateway_store.db, "PP-RECYCLATE-1", LabConfirmationIn.model_validate(LAB_CLEAN), "lab-clerk")
    store_lot(gateway_store, "FAILED-1", 5.0, {"method": "junkan.measurement/1", "error": "ValueError('x')"}, [], T0)
    lots = record_scenario(gateway_store, "tv_housings_bfr", 7, 2,
                           intake_products={1: [{"model": "ZZ-1", "n_items": 40}]})
    ids = ["PP-OUT-1", "PP-RECYCLATE-1", "ABS-OUT-1", "IN-1", "FAILED-1", *(lot["lot_id"] for lot in lots)]
    return [build_evidence(gateway_store, gateway_store.db, lot, specs=SPECS) for lot in ids]


def test_every_reason_renders_its_english_text_and_japanese_without_it(documents: list[Evidence]) -> None:
    seen: set[str] = set()
    for ev in documents:
        for plain, coded in pairs(ev):
            assert coded is not None, plain
            assert text(coded, "en") == plain
            ja = text(coded, "ja")
            assert ja != plain and not english_in(ja), (coded.code, ja, english_in(ja))
            seen.add(coded.code)
            seen |= {str(p["code"]) for v in coded.params.values() for p in (v if isinstance(v, list) else [v])
                     if isinstance(p, dict)}
    assert {"claims.balance_alarm", "claims.pops_suspect", "claims.lab_failed", "claims.ident", "claims.untraced",
            "gap.measurement_failed", "gap.ident", "gap.pops_suspect", "purity.below", "limit.exceeded",
            "lab.exceeded", "lab.pass", "ident.mismatch", "screen.br_above", "bfr.declared"} <= seen
    assert len(seen) >= 30, sorted(seen)


def test_evidence_page_and_certificate_show_reasons_in_japanese(documents: list[Evidence],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from reportlab import platypus

    ev = next(e for e in documents if e.lot.lot_id == "ABS-OUT-1")  # balance alarm, failed lab, strict specs
    assert ev.claims.blocked and ev.conformance and ev.data_gaps
    shown: list[str] = []

    class Recording(platypus.Paragraph):  # type: ignore[misc]
        def __init__(self, body: str, *args: Any, **kwargs: Any) -> None:
            shown.append(body)
            super().__init__(body, *args, **kwargs)

    monkeypatch.setattr(platypus, "Paragraph", Recording)
    certificate.pdf(ev, "ja")
    sheet, page = "\n".join(shown), render.html(ev, "ja")
    assert english_in(sheet) == [] and english_in(page) == []
    claims = [text(r, "ja") for r in ev.claims.reason_codes]
    assert "マスバランスのアラーム（工程 SHR-1）" in claims
    for ja in (sheet, page):
        assert "POPs：分析結果" in ja and "工程 SHR-1" in ja
    shown.clear()
    certificate.pdf(ev, "en")
    assert "balance alarm step SHR-1" in "\n".join(shown) and "balance alarm step SHR-1" in render.html(ev, "en")
