"""The PDF certificate is one page in English and in Japanese (CJK font embedded when the machine has one)."""

from __future__ import annotations

import re
from typing import Any

from gateway.evidence import certificate
from gateway.evidence.certificate_text import LABELS
from gateway.evidence.exporters import EXPORTERS


def _pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf))


def test_same_keys_in_both_languages() -> None:
    assert set(LABELS["en"]) - set(LABELS["ja"]) == set()
    assert {"pdf", "pdf-ja"} <= set(EXPORTERS)


def test_certificate_is_one_page_in_both_languages(gateway_store: Any) -> None:
    from gateway.evidence.build import build_evidence
    from tests.evidence.plant import build_plant

    build_plant(gateway_store)  # a traced lot: composition records, four process steps, measured
    ev = build_evidence(gateway_store, gateway_store.db, "PP-OUT-1")
    for lang in ("en", "ja"):
        pdf = certificate.pdf(ev, lang)
        assert pdf[:5] == b"%PDF-" and _pages(pdf) == 1, lang
    ja = certificate.pdf(ev, "ja")
    fonts = re.findall(rb"/BaseFont\s*/([A-Za-z0-9+\-]+)", ja)
    assert any(b"IPAGothic" in f or b"HeiseiKakuGo" in f for f in fonts), fonts
    assert b"FontFile2" in ja or b"HeiseiKakuGo" in ja  # the TrueType font program embedded (or the CID fallback)


def test_evidence_page_in_japanese(gateway_store: Any) -> None:
    from gateway.evidence import render
    from gateway.evidence.build import build_evidence
    from gateway.evidence.html_text import HTML_LABELS
    from tests.evidence.plant import build_plant

    assert set(HTML_LABELS["en"]) == set(HTML_LABELS["ja"])
    build_plant(gateway_store)
    ev = build_evidence(gateway_store, gateway_store.db, "PP-OUT-1")
    ja, en = render.html(ev, "ja"), render.html(ev)
    assert '<html lang="ja">' in ja and "測定された組成" in ja and "マスバランス" in ja
    for english in ("Measured composition", "Contaminant screening", "Mass balance", "Origin</h2>"):
        assert english in en and english not in ja
    # vocabulary, not data: step kinds, device roles, calibration, custody model, intake stream
    for english, japanese in (("<td>dismantling</td>", "<td>解体</td>"),
                              ("<td>contributed</td>", "<td>データあり</td>"),
                              ("<td>not_reported</td>", "<td>未報告</td>"), ("segregated (ISO", "分別管理方式 (ISO"),
                              ("{&#39;weee&#39;: ", "廃電気・電子機器（WEEE） ")):
        assert english in en and english not in ja and japanese in ja, english


def test_method_note_in_japanese_when_the_method_is_the_measurements_own() -> None:
    """The certificate's note says how the contaminant figures were computed: a method junkan's measurement
    writes is said in Japanese; any other is quoted as recorded and labelled English."""
    from tests.measurements import wire_measurement

    method = wire_measurement()["contaminants"]["Br"]["method"]
    ja, en = LABELS["ja"], LABELS["en"]
    assert certificate._method_note(ja, method, "ja").startswith("方法：左側打ち切りデータのカプラン・マイヤー推定")
    assert certificate._method_note(en, method, "en") == "Method: " + method
    assert certificate._method_note(ja, "XRF (EDXRF)", "ja") == "方法（英語）：XRF (EDXRF)"
    assert "html-ja" in EXPORTERS and EXPORTERS["html-ja"].inline
