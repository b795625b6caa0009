"""The PDF certificate: one A4 page, the verdict first, then the figures behind it; English or Japanese.

Why one page: a recycler reads the verdict (conformance, claims, contaminant flags, origin) at a glance and
files one sheet; the full record is the signed JSON/JWS. Japanese text needs a CJK font: a TrueType font found
on the machine (IPAGothic, Noto Sans CJK) is embedded, else reportlab's built-in CID font HeiseiKakuGo-W5 is
used (not embedded: the reader supplies the glyphs) and the certificate says nothing false either way.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from gateway.evidence.certificate_text import LABELS
from gateway.evidence.keys import SigningKey
from gateway.evidence.verify_link import link, overall_verdict
from gateway.specs import reason_text
from junkan.core.censored import contaminant_texts
from junkan.core.evidence import Composition, Evidence, Reason

CJK_TTF = (Path("/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf"),
           Path("/usr/share/fonts/truetype/fonts-japanese-gothic.ttf"),
           Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"))


def _font(lang: str) -> tuple[str, str, bool]:
    """(regular, bold, embedded) font names for ``lang``, registered with reportlab once."""
    if lang != "ja":
        return "Helvetica", "Helvetica-Bold", False
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if "JunkanJP" in pdfmetrics.getRegisteredFontNames():
        return "JunkanJP", "JunkanJP", True
    for path in CJK_TTF:
        if path.is_file():
            try:
                pdfmetrics.registerFont(TTFont("JunkanJP", str(path)))
                return "JunkanJP", "JunkanJP", True
            except Exception:
                continue
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    pdfmetrics.registerFont(UnicodeCIDFont("HeiseiKakuGo-W5"))
    return "HeiseiKakuGo-W5", "HeiseiKakuGo-W5", False


def _qr(url: str, size_mm: float) -> Any:
    """The verification URL as a QR code (reportlab's own encoder: no extra dependency)."""
    from reportlab.graphics.barcode.qr import QrCodeWidget
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib.units import mm

    widget = QrCodeWidget(url, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    side = size_mm * mm
    drawing = Drawing(side, side, transform=[side / (x1 - x0), 0, 0, side / (y1 - y0), 0, 0])
    drawing.add(widget)
    return drawing


def _method_note(L: dict[str, str], method: str, lang: str) -> str:
    """How the contaminant figures were computed, in the sheet's language when the method is one the measurement
    writes (``reason_text.TERMS``); another method is quoted as recorded and said to be in English."""
    said = reason_text.term(method, lang)
    return (L["method_note"] if said != method or lang == "en" else L["method_note_untranslated"]) + said


def pdf(ev: Evidence, lang: str = "en", key: SigningKey | None = None) -> bytes:
    """The certificate; with the plant's ``key`` it names the signing key and carries the sealed
    verification link (text and QR code), without one it says it is not signed."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import KeepInFrame, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    L = LABELS[lang if lang in LABELS else "en"]

    def why(plain: list[str], coded: list[Reason]) -> str:  # reasons in the sheet's language
        return reason_text.join(reason_text.texts(plain, coded, lang), lang)

    regular, bold, _ = _font(lang)
    base = ParagraphStyle("b", fontName=regular, fontSize=8, leading=10, wordWrap="CJK" if lang == "ja" else None)
    small = ParagraphStyle("s", parent=base, fontSize=6.5, leading=8, textColor=colors.HexColor("#555555"))
    h1 = ParagraphStyle("h1", parent=base, fontName=bold, fontSize=15, leading=19)
    h2 = ParagraphStyle("h2", parent=base, fontName=bold, fontSize=9.5, leading=12, spaceBefore=5, spaceAfter=2)
    verdict_style = ParagraphStyle("v", parent=base, fontName=bold, fontSize=11, leading=14)

    def p(text: str, style: ParagraphStyle = base) -> Paragraph:
        return Paragraph(escape(text), style)  # data never becomes markup

    def table(rows: list[list[Any]], widths: list[float] | None = None) -> Table:
        t = Table([[c if isinstance(c, Paragraph) else p(str(c)) for c in row] for row in rows], colWidths=widths,
                  repeatRows=1)
        t.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                               ("VALIGN", (0, 0), (-1, -1), "TOP"), ("TOPPADDING", (0, 0), (-1, -1), 1),
                               ("BOTTOMPADDING", (0, 0), (-1, -1), 1)]))
        return t

    lot = ev.lot
    flags = [(c.analyte, limit, t.status) for c in ev.contaminants for limit, t in c.thresholds.items() if t.flag]
    overall = overall_verdict(ev)
    colour = {"conformant": "#1f8a4c", "non_conformant": "#c53030", "insufficient_data": "#b7791f",
              "no_spec": "#555555"}[overall]
    verdict = [
        [Paragraph(f'<font color="{colour}">{escape(L["verdict_" + overall])}</font>', verdict_style)],
        [p(L["claims_blocked"] + why(ev.claims.reasons, ev.claims.reason_codes) if ev.claims.blocked
           else L["claims_ok"])],
        [Paragraph('<font color="#c53030">' + escape(L["flags"] + ", ".join(
            f"{a} > {float(lim):,.0f} ppm ({L['status_' + s]})" for a, lim, s in flags)) + "</font>", base)
         if flags else p(L["no_flags"])],
        [p(L["origin_" + ev.origin.status])],
    ]
    if ev.data_gaps:
        verdict.append([p(L["gaps"] + why(ev.data_gaps, ev.data_gap_codes))])
    box = Table(verdict, colWidths=[174 * mm])
    box.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 1.2, colors.HexColor(colour)),
                             ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2)]))
    head: list[Any] = [
        p(L["title"].format(lot=lot.lot_id), h1),
        p(L["issued"].format(at=ev.issued_at[:19].replace("T", " "), name=ev.issuer.name, id=ev.issuer.id), small),
    ]
    if key is not None:
        url = link(ev, key)
        page = url.split("?", 1)[0]  # the whole link is the QR code and the clickable text (a /URI annotation)
        head += [p(L["signed"].format(kid=key.kid), small), p(L["verify_online"], small),
                 Paragraph(f'<a href="{escape(url, {chr(34): "&quot;"})}" color="blue">{escape(page)}</a>', small)]
        top = Table([[head, _qr(url, 30)]], colWidths=[140 * mm, 34 * mm])
        top.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
        heading: list[Any] = [top]
    else:
        heading = [*head, p(L["unsigned"], small)]
    story: list[Any] = [
        *heading,
        Spacer(1, 2 * mm), box,
        p(L["figures"], h2),
        table([[L["net_mass"], L["line"], L["closed"], L["custody"]],
               [f"{float(lot.net_mass_kg or 0):,.3f} kg", f"{lot.site or '–'} / {lot.line or '–'}",
                (lot.closed_at or "–")[:19].replace("T", " "), reason_text.term(ev.chain_of_custody.model, lang)]],
              [40 * mm, 50 * mm, 44 * mm, 40 * mm]),
    ]
    if isinstance(ev.composition, Composition) and ev.composition.by_mass:
        shares = sorted(ev.composition.by_mass.items(), key=lambda kv: -kv[1].share)[:6]
        story += [p(L["composition"], h2), table(
            [[L["polymer"], L["share"], L["ci"]]] + [[name, f"{100 * s.share:.1f} %",
                                                      f"{100 * s.ci95[0]:.1f} – {100 * s.ci95[1]:.1f} %"]
                                                     for name, s in shares], [40 * mm, 30 * mm, 50 * mm])]
    else:
        story.append(p(L["no_composition"]))
    if ev.contaminants:
        rows: list[list[Any]] = [[L["analyte"], "n", "<LOD", L["mean"], "p95", L["max"], L["limit"]]]
        for c in ev.contaminants:
            x = contaminant_texts(c)
            limits = ", ".join(f"{float(k):,.0f}: {L['status_' + t.status]}" for k, t in c.thresholds.items())
            rows.append([c.analyte, c.n, c.n_below_lod, x["mean"], x["p95"], x["max"], limits or "–"])
        story += [p(L["contaminants"], h2), table(rows, [18 * mm, 12 * mm, 12 * mm, 24 * mm, 24 * mm, 24 * mm,
                                                          60 * mm]),
                  p(_method_note(L, ev.contaminants[0].method or "", lang), small)]
    if ev.conformance:
        story += [p(L["conformance"], h2), table(
            [[L["spec"], L["result"], L["reasons"]]] + [[f"{r.spec_id} ({r.buyer})", L["verdict_" + r.result],
                                                         why(r.reasons, r.reason_codes)[:300]]
                                                        for r in ev.conformance],
            [45 * mm, 35 * mm, 94 * mm])]
    if ev.origin.models:
        models = sorted(ev.origin.models, key=lambda m: -m.attributed_kg)[:8]
        story += [p(L["origin"], h2), table(
            [[L["model"], L["manufacturer"], L["attributed"]]] + [
                [m.model, m.manufacturer or "–", f"{m.attributed_kg:,.1f} kg ({100 * (m.share or 0):.1f} %)"]
                for m in models], [50 * mm, 60 * mm, 64 * mm])]
    if ev.mass_balance.steps:
        story += [p(L["balance"], h2), table(
            [[L["step"], L["in"], L["out"], L["loss"], L["result"]]] + [
                [f"{reason_text.term(s.kind, lang)} {s.step_id}"[:44], f"{s.input_mass_kg:,.1f}",
                 f"{s.output_mass_kg:,.1f}", f"{s.declared_loss_kg:,.1f}", L["ok"] if s.balance_ok else L["violation"]]
                for s in ev.mass_balance.steps], [70 * mm, 26 * mm, 26 * mm, 26 * mm, 26 * mm])]
    story += [Spacer(1, 2 * mm), p(L["footer"].format(id=ev.evidence_id), small)]
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, title=L["title"].format(lot=lot.lot_id), author=ev.issuer.name,
                            leftMargin=18 * mm, rightMargin=18 * mm, topMargin=14 * mm, bottomMargin=12 * mm)
    # One page whatever the data: the frame shrinks the content to fit rather than spilling onto a second page.
    doc.build([KeepInFrame(doc.width, doc.height, story, mode="shrink")])
    return buf.getvalue()
