"""The PDF certificate's text says what the store says: the page's text is read back from the PDF itself
(content streams decoded here, no PDF library of the exporter) and every figure is compared with the store's
rows (truth.py): lot mass, polymer shares with their interval, each analyte's statistics or '<LOD (x)', the
claim state and why, the issuer; never a Python 'None' or a raw dict."""

from __future__ import annotations

import base64
import re
import zlib
from typing import Any

import pytest

from gateway.evidence.formats import produce
from tests.evidence.semantic.truth import (
    Tally,
    all_below_lod,
    blocked_in_store,
    lot_mass,
    stored_measurement,
    worlds,
)

_STREAM = re.compile(rb"/Filter \[ /ASCII85Decode /FlateDecode \][^>]*>>\s*stream\r?\n(.*?)endstream", re.S)
_SHOW = re.compile(rb"\(((?:\\.|[^\\)])*)\)\s*Tj")
_ESCAPE = re.compile(rb"\\([0-7]{1,3}|.)", re.S)


def pdf_text(pdf: bytes) -> str:
    """Every string the page shows (``(...) Tj`` of its decoded content streams), WinAnsi, space-joined."""
    shown = []
    for m in _STREAM.finditer(pdf):
        raw = zlib.decompress(base64.a85decode(m.group(1).strip().removesuffix(b"~>")))
        for s in _SHOW.finditer(raw):
            literal = _ESCAPE.sub(lambda e: bytes([int(e.group(1), 8)]) if e.group(1)[:1].isdigit()
                                  else e.group(1), s.group(1))
            shown.append(literal.decode("cp1252"))
    return re.sub(r"\s+", " ", " ".join(shown))


def shows_number(text: str, value: float) -> bool:
    """The value appears as a number at some usual precision (thousands separators allowed)."""
    return any(re.search(rf"(?<![\d.]){re.escape(f'{value:,.{d}f}')}(?![\d])", text) for d in range(4))


def check_certificate(t: Tally, db: Any, lot_id: str, text: str, issuer: str) -> None:
    meas = stored_measurement(db, lot_id)
    t.true(f"{lot_id} title", f"lot {lot_id}" in text)
    t.true(f"{lot_id} issuer", issuer in text)
    t.true(f"{lot_id} net mass", shows_number(text, lot_mass(db, lot_id)))
    for polymer, m in meas["composition"]["by_mass"].items():
        t.true(f"{lot_id} {polymer} named", polymer in text)
        t.true(f"{lot_id} {polymer} share", shows_number(text, 100 * m["share"]))
        t.true(f"{lot_id} {polymer} CI low", shows_number(text, 100 * m["ci95"][0]))
        t.true(f"{lot_id} {polymer} CI high", shows_number(text, 100 * m["ci95"][1]))
    for analyte, e in meas["contaminants"].items():
        if not e["n"]:
            continue
        row = re.search(rf"\b{analyte} {e['n']} {e['n_below_lod']} (.*?)(?= [A-Z][a-z]? \d| Method:)", text)
        t.true(f"{lot_id} {analyte} row", row is not None)
        cells = row.group(1) if row else ""
        if all_below_lod(e):
            lod = re.escape(f"{e['lod_ppm']:,.4g}")
            t.eq(f"{lot_id} {analyte} non-detect as <LOD (LOD)", len(re.findall(rf"<\s*LOD \({lod}\)", cells)), 3)
        else:
            for stat in ("mean", "p95", "max"):
                value, lod = e[f"{stat}_ppm"], e["lod_ppm"]
                if stat != "mean" and e["n_below_lod"] and lod is not None and (value is None or lod > value):
                    # '<LOD' readings may lie above the statistic: only their LOD bounds it
                    bound = re.escape(f"{lod:,.4g}")
                    shown = re.search(rf"<\s*=\s*{bound} \(LOD\)", cells)
                    t.true(f"{lot_id} {analyte} {stat} <= LOD", shown is not None)
                elif value is not None:
                    t.true(f"{lot_id} {analyte} {stat}", shows_number(cells, value))
    blocked = blocked_in_store(db, lot_id)
    t.eq(f"{lot_id} claims blocked", "claims blocked" in text, blocked)
    t.eq(f"{lot_id} claims not blocked", "claims: not blocked" in text, not blocked)
    for junk in ("None", "{'", "unconfigured plant"):
        t.eq(f"{lot_id} no {junk!r}", junk in text, False)


@pytest.mark.parametrize("world", ["truth", "scenarios"])
def test_certificate_text_means_what_the_store_says(request: pytest.FixtureRequest, world: str,
                                                    gateway_db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    built, lots = worlds(request, world)
    store, db = built["store"], built["db"]
    t = Tally(f"pdf certificate text ({world} lots {', '.join(lots)})")
    for lot_id in lots:
        pdf, _ = produce(store, lot_id, "pdf")
        text = pdf_text(pdf)
        issuer = re.search(r"by (.*?) \(did:", text)
        check_certificate(t, db, lot_id, text, issuer.group(1) if issuer else "(no issuer line)")
    with capsys.disabled():
        print("\n" + t.summary())
    assert t.checked > 40 and not t.mismatches, (t.summary(), t.mismatches[:10])


def test_certificate_check_can_fail(truth: dict[str, Any]) -> None:
    """Negative control: the page text with a share printed as a fraction, a LOD as a value, or the claim
    state flipped, is caught."""
    store, db = truth["store"], truth["db"]
    text = pdf_text(produce(store, "MIX-1", "pdf")[0])
    for old, new in (("75.3 %", "0.8 %"), ("< LOD (8)", "8"), ("claims: not blocked", "claims blocked")):
        assert old in text, old
        t = Tally("negative")
        check_certificate(t, db, "MIX-1", text.replace(old, new), "junkan")
        assert t.mismatches, old
