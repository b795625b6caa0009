"""Human-readable evidence: HTML (jinja2, inline SVG chart) and a PDF certificate (reportlab)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from jinja2 import Environment, FileSystemLoader, select_autoescape

from gateway.evidence.html_text import HTML_LABELS
from gateway.specs import reason_text
from junkan.core.censored import contaminant_texts
from junkan.core.evidence import Evidence
from junkan.core.measurement_model import Composition

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class Bar:
    """One polymer of the composition chart, in percent."""

    name: str
    pct: float
    lo: float
    hi: float


def bars(ev: Evidence) -> list[Bar]:
    by_mass = ev.composition.by_mass if isinstance(ev.composition, Composition) else {}
    return [Bar(name, 100 * e.share, 100 * e.ci95[0], 100 * e.ci95[1])
            for name, e in sorted(by_mass.items(), key=lambda kv: -kv[1].share)]


def html(ev: Evidence, lang: str = "en") -> str:
    """The evidence as a page, in English or Japanese (``html_text``); data stays as recorded."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "jinja"]))
    lang = lang if lang in HTML_LABELS else "en"
    return env.get_template("evidence.html.jinja").render(
        ev=ev, bars=bars(ev), ppm=contaminant_texts, lang=lang, h=HTML_LABELS[lang],
        why=lambda plain, coded: reason_text.join(reason_text.texts(plain, coded, lang), lang),
        why_one=lambda plain, coded: reason_text.one(plain, coded, lang),
        term=lambda word: reason_text.term(word, lang) if isinstance(word, str) else word)


def pdf(ev: Evidence) -> bytes:
    from reportlab.graphics.charts.barcharts import HorizontalBarChart
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, title=f"Composition evidence {ev.lot.lot_id}",
                            author=ev.issuer.name, leftMargin=18 * mm, rightMargin=18 * mm)
    grid = TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey), ("FONTSIZE", (0, 0), (-1, -1), 8),
                       ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke)])

    def para(text: str, style: str = "Normal") -> Paragraph:
        return Paragraph(escape(text), styles[style])  # reportlab parses markup: data must not inject tags

    def table(rows: list[list[Any]]) -> Table:
        t = Table([[Paragraph(escape(c), styles["BodyText"]) if isinstance(c, str) and len(c) > 40 else str(c)
                    for c in row] for row in rows], repeatRows=1)
        t.setStyle(grid)
        return t

    lot = ev.lot
    story: list[Any] = [
        para(f"Composition evidence – lot {lot.lot_id}", "Title"),
        para(f"Issued {ev.issued_at} by {ev.issuer.name} ({ev.issuer.id})"),
        para(f"Net mass {float(lot.net_mass_kg or 0):.3f} kg; chain of custody "
             f"{ev.chain_of_custody.model} (ISO 22095)"),
    ]
    if ev.claims.blocked:
        story.append(Paragraph("<b>Claims blocked:</b> " + escape("; ".join(ev.claims.reasons)), styles["Normal"]))
    if ev.data_gaps:
        story.append(Paragraph("<b>Insufficient data:</b> " + escape("; ".join(ev.data_gaps)), styles["Normal"]))
    story += [Spacer(1, 4 * mm), Paragraph("Measured composition (mass share, %)", styles["Heading2"])]
    b = bars(ev)
    if b:
        drawing = Drawing(170 * mm, 12 * mm + 9 * mm * len(b))
        chart = HorizontalBarChart()
        chart.x, chart.y, chart.width, chart.height = 25 * mm, 6 * mm, 130 * mm, 9 * mm * len(b)
        chart.data = [[x.pct for x in reversed(b)]]
        chart.categoryAxis.categoryNames = [x.name for x in reversed(b)]
        chart.valueAxis.valueMin, chart.valueAxis.valueMax = 0, 100
        chart.bars[0].fillColor = colors.HexColor("#4a7fb5")
        drawing.add(chart)
        story.append(drawing)
        story.append(table([["Polymer", "share %", "95 % CI"]] + [
            [x.name, f"{x.pct:.1f}", f"{x.lo:.1f}–{x.hi:.1f}"] for x in b]))
    else:
        story.append(Paragraph("No measured composition (insufficient data).", styles["Normal"]))
    story.append(Paragraph("Contaminant screening (mg/kg)", styles["Heading2"]))
    if ev.contaminants:
        story.append(table([["Analyte", "Method", "n", "<LOD", "LOD", "mean", "p95", "max"]] + [
            [c.analyte, c.method or "–", c.n, c.n_below_lod, c.lod_ppm, *contaminant_texts(c).values()]
            for c in ev.contaminants]))
    else:
        story.append(Paragraph("No contaminant screening (insufficient data).", styles["Normal"]))
    story.append(Paragraph("Conformance", styles["Heading2"]))
    rows = [["Spec", "Check", "Result", "Reason"]]
    for r in ev.conformance:
        rows += [[r.spec_id, c.check, c.result, c.reason] for c in r.checks]
        rows.append([r.spec_id, "overall", r.result, ""])
    story.append(table(rows) if len(rows) > 1 else Paragraph("No specification registered.", styles["Normal"]))
    story.append(Paragraph("Origin", styles["Heading2"]))
    origin = ev.origin
    story.append(para(f"Status {origin.status}; plants {', '.join(origin.plants) or '–'}; "
                      f"streams {origin.streams_kg}"))
    if origin.models:
        story.append(table([["Model", "Manufacturer", "Category", "attributed kg", "share %"]] + [
            [m.model, m.manufacturer or "–", m.category or "–", f"{m.attributed_kg:.3f}", f"{100 * (m.share or 0):.1f}"]
            for m in origin.models]))
    subs = ev.declared_substances.substances
    if subs:
        story.append(Paragraph("Declared substances that can carry over", styles["Heading2"]))
        story.append(table([["Substance", "CAS", "Declared in", "share of sources %"]] + [
            [s.name, s.cas or "–", ", ".join(s.declared_in_models), f"{100 * (s.source_share or 0):.1f}"]
            for s in subs]))
    story.append(Paragraph("Mass balance", styles["Heading2"]))
    story.append(table([["Step", "Kind", "in kg", "out kg", "loss kg", "balance"]] + [
        [s.step_id, s.kind, s.input_mass_kg, s.output_mass_kg, s.declared_loss_kg,
         "ok" if s.balance_ok else "VIOLATION"] for s in ev.mass_balance.steps]))
    story.append(Paragraph(escape(f"Evidence id {ev.evidence_id}.") + " Verify the signed (jws) copy with "
                           "<i>junkan verify FILE --key plant_public_key.pem</i>.", styles["Italic"]))
    doc.build(story)
    return buf.getvalue()
