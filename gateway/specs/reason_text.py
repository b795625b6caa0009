"""Reasons as a code and figures (``junkan.core.evidence.Reason``) and their sentences in English and Japanese.

Why: reasons built as English sentences could not be shown on a Japanese page or certificate. Every reason
the checks give (conformance, lab verdict, screening, claims, data gaps, identification) is made with
``reason(code, **params)``; its English rendering is the text release 1 wrote (EPCIS, UNTP and Catena-X keep
quoting that text), and ``text(r, "ja")`` says the same figures in Japanese.

Template fields are ``str.format`` fields with three conversions: ``!t`` a term (statistic, basis, status:
``TERMS``), ``!r`` a nested reason or a list of them ("; "-joined), ``!l`` a list of names (", "-joined).
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from typing import Any

from junkan.core.evidence import Reason

LANGS = ("en", "ja")
_REASONS_SEP = {"en": "; ", "ja": "；"}
_LIST_SEP = {"en": ", ", "ja": "、"}

TEMPLATES: dict[str, dict[str, str]] = {
    # check names
    "check.limit": {"en": "{analyte} <= {limit:g} mg/kg ({basis!t})", "ja": "{analyte} ≤ {limit:g} mg/kg（{basis!t}）"},
    "check.purity": {"en": "{material} mass share >= {min:.1%}", "ja": "{material} の質量割合 ≥ {min:.1%}"},
    "check.lab_pops_pbde": {"en": "POPs PBDE sum (tetra-, penta-, hexa-, hepta-, decaBDE) <= {limit:g} mg/kg",
                            "ja": "POPs PBDE 合計（テトラ・ペンタ・ヘキサ・ヘプタ・デカBDE）≤ {limit:g} mg/kg"},
    "check.lab_rohs": {"en": "RoHS {analyte} <= {limit:g} mg/kg", "ja": "RoHS {analyte} ≤ {limit:g} mg/kg"},
    "check.lab_hbcdd": {"en": "POPs HBCDD <= {limit:g} mg/kg", "ja": "POPs HBCDD ≤ {limit:g} mg/kg"},
    # a limit against the lot's screening (gateway.specs.conformance)
    "limit.no_measurement": {"en": "no {analyte} measurement for the lot", "ja": "このロットの {analyte} 測定値なし"},
    "limit.lod_above_limit": {"en": "method LOD {lod:g} mg/kg is above the limit {limit:g} mg/kg",
                              "ja": "測定法の検出下限 {lod:g} mg/kg が上限 {limit:g} mg/kg を上回る"},
    "limit.no_value": {"en": "{analyte}: no {basis!t} value reported", "ja": "{analyte}：{basis!t}の報告値なし"},
    "limit.exceeded": {"en": "{analyte} {stat!t} {value:g} > {limit:g}",
                       "ja": "{analyte} {stat!t} {value:g} > {limit:g}"},
    "limit.censored_open": {"en": "{analyte} {basis!t} up to {upper:g} > {limit:g}: {n_below} readings '<LOD' (LOD up "
                                  "to {lod:g}) may exceed the limit",
                            "ja": "{analyte} {basis!t}は最大 {upper:g} > {limit:g}："
                                  "'<LOD' の {n_below} 件（検出下限 最大 {lod:g}）が上限を超えている可能性"},
    "limit.ok": {"en": "{analyte} {stat!t} {upper:g} <= {limit:g}", "ja": "{analyte} {stat!t} {upper:g} ≤ {limit:g}"},
    "limit.ok_bound": {"en": "{analyte} {stat!t} {upper:g} (highest '<LOD' LOD) <= {limit:g}",
                       "ja": "{analyte} {stat!t} {upper:g}（'<LOD' の最大検出下限）≤ {limit:g}"},
    "limit.ok_bound_km": {"en": "{analyte} {stat!t} {upper:g} (highest '<LOD' LOD, KM/detect {value:g}) <= {limit:g}",
                          "ja": "{analyte} {stat!t} {upper:g}（'<LOD' の最大検出下限、KM推定・検出値 {value:g}）≤ "
                                "{limit:g}"},
    "limit.lab_exceeded": {"en": "lab {analyte} {lo:g} mg/kg > {limit:g} mg/kg ({confirmation})",
                           "ja": "分析 {analyte} {lo:g} mg/kg > {limit:g} mg/kg（{confirmation}）"},
    "limit.lab_open": {"en": "lab {analyte} up to {hi:g} mg/kg with LODs counted > {limit:g} mg/kg ({confirmation})",
                       "ja": "分析 {analyte} 検出下限を算入して最大 {hi:g} mg/kg > {limit:g} mg/kg（{confirmation}）"},
    "limit.lab_ok": {"en": "lab {analyte} <= {hi:g} <= {limit:g} mg/kg ({confirmation})",
                     "ja": "分析 {analyte} ≤ {hi:g} ≤ {limit:g} mg/kg（{confirmation}）"},
    "limit.br_none": {"en": "no {group} (GC-MS, IEC 62321-6) or Br screening result",
                      "ja": "{group}（GC-MS、IEC 62321-6）の分析結果も Br スクリーニング結果もなし"},
    "limit.br_no_max": {"en": "Br screening reported no maximum", "ja": "Br スクリーニングに最大値なし"},
    "limit.br_bounds": {"en": "Br {stat!t} {value:g} mg/kg bounds {group} <= {bound:.0f} <= {limit:g} mg/kg",
                        "ja": "Br {stat!t} {value:g} mg/kg から {group} ≤ {bound:.0f} ≤ {limit:g} mg/kg"},
    "limit.br_cannot_exclude": {"en": "Br screening ({value:g} mg/kg) cannot exclude {group} above {limit:g} mg/kg; "
                                      "confirm by GC-MS (IEC 62321-6)",
                                "ja": "Br スクリーニング（{value:g} mg/kg）では {group} が {limit:g} mg/kg "
                                      "を超える可能性を否定できない。GC-MS（IEC 62321-6）で確認が必要"},
    "limit.cr_no_max": {"en": "total Cr screening reported no maximum", "ja": "全クロムのスクリーニングに最大値なし"},
    "limit.cr_bounds": {"en": "total Cr {stat!t} {value:g} mg/kg bounds Cr(VI) <= {limit:g} mg/kg",
                        "ja": "全クロム {stat!t} {value:g} mg/kg から Cr(VI) ≤ {limit:g} mg/kg"},
    "limit.cr_cannot_exclude": {"en": "total Cr {value:g} mg/kg cannot exclude Cr(VI) above {limit:g} mg/kg; confirm "
                                      "by Cr(VI) speciation (IEC 62321-7)",
                                "ja": "全クロム {value:g} mg/kg では Cr(VI) が {limit:g} mg/kg を超える可能性を"
                                      "否定できない。Cr(VI) の形態別分析（IEC 62321-7）で確認が必要"},
    "purity.none": {"en": "no mass share of {material} measured", "ja": "{material} の質量割合は未測定"},
    "purity.ok": {"en": "lower 95 % bound {lo:.1%} >= {min:.1%}", "ja": "95%信頼区間の下限 {lo:.1%} ≥ {min:.1%}"},
    "purity.below": {"en": "upper 95 % bound {hi:.1%} < {min:.1%}", "ja": "95%信頼区間の上限 {hi:.1%} < {min:.1%}"},
    "purity.open": {"en": "95 % interval {lo:.1%}..{hi:.1%} spans {min:.1%}: more objects needed",
                    "ja": "95%信頼区間 {lo:.1%}〜{hi:.1%} が {min:.1%} をまたぐ：測定対象を増やす必要あり"},
    # a lab confirmation's checks (gateway.specs.lab)
    "lab.not_reported": {"en": "lab: {analyte} not confirmed: {missing!l} not reported",
                         "ja": "分析：{analyte} は未確認（{missing!l} の報告なし）"},
    "lab.exceeded": {"en": "lab: {analyte} {lo:g} mg/kg > {limit:g} mg/kg",
                     "ja": "分析：{analyte} {lo:g} mg/kg > {limit:g} mg/kg"},
    "lab.open": {"en": "lab: {analyte} up to {hi:g} mg/kg with LODs counted, above {limit:g} mg/kg",
                 "ja": "分析：{analyte} 検出下限を算入して最大 {hi:g} mg/kg、上限 {limit:g} mg/kg 超"},
    "lab.ok": {"en": "lab: {analyte} <= {hi:g} mg/kg <= {limit:g} mg/kg",
               "ja": "分析：{analyte} ≤ {hi:g} mg/kg ≤ {limit:g} mg/kg"},
    "lab.pass": {"en": "lab {lab} ({method}, {date}): every regulated BFR group below its limit",
                 "ja": "分析機関 {lab}（{method}、{date}）：規制対象の臭素系難燃剤はすべて上限未満"},
    # BFR screening (gateway.specs.screening)
    "bfr.declared": {"en": "{name} ({group}, CAS {cas!t}) in {share:.1%} of the source mass ({models!l})",
                     "ja": "{name}（{group}、CAS {cas!t}）：由来質量の {share:.1%}（{models!l}）"},
    "bfr.declared_share_unknown": {"en": "{name} ({group}, CAS {cas!t}) in share unknown of the source mass "
                                         "({models!l})",
                                   "ja": "{name}（{group}、CAS {cas!t}）：由来質量に占める割合は不明（{models!l}）"},
    "screen.declared": {"en": "declared in the sources: {substance!r}", "ja": "由来製品で申告：{substance!r}"},
    "screen.br_above": {"en": "XRF Br {stat!t} {value:g} mg/kg > screening threshold {threshold:g} mg/kg "
                              "(n {n}{p95!r})",
                        "ja": "XRF Br {stat!t} {value:g} mg/kg > スクリーニング閾値 {threshold:g} mg/kg"
                              "（n {n}{p95!r}）"},
    "screen.p95": {"en": ", p95 {p95:g}", "ja": "、95パーセンタイル {p95:g}"},
    "claims.lab_failed": {"en": "POPs: lab confirmation {confirmation} failed: {reasons!r}",
                          "ja": "POPs：分析結果 {confirmation} は不合格：{reasons!r}"},
    "claims.pops_suspect": {"en": "pops_suspect: {causes!r}; recycled-content claims blocked until a lab confirmation "
                                  "(GC-MS, IEC 62321-6) passes{lab!r}",
                            "ja": "POPs 含有の疑い：{causes!r}。分析（GC-MS、IEC 62321-6）で合格するまで"
                                  "再生材含有の主張は保留{lab!r}"},
    "claims.lab_not_clearing": {"en": "; lab confirmation {confirmation} does not clear it: {reasons!r}",
                                "ja": "。分析結果 {confirmation} では解除されない：{reasons!r}"},
    "gap.pops_suspect": {"en": "screening: pops_suspect, no passing lab confirmation of PBDE/PBB (GC-MS, IEC 62321-6) "
                               "for the lot ({n} cause(s))",
                         "ja": "スクリーニング：POPs 含有の疑い。このロットの PBDE/PBB の合格した分析結果（GC-MS、"
                               "IEC 62321-6）なし（原因 {n} 件）"},
    "gap.no_br": {"en": "screening: no XRF Br screening for the lot; POPs BFRs are excluded only by the source records",
                  "ja": "スクリーニング：このロットの XRF Br スクリーニングなし。"
                        "POPs 臭素系難燃剤は由来製品の記録でのみ除外"},
    # the evidence's own gaps and claims (gateway.evidence.build, crosscheck)
    "gap.measurement_unreadable": {"en": "measurement: the stored measurement is not a junkan.measurement/1 document",
                                   "ja": "測定：保存された測定値は junkan.measurement/1 文書ではない"},
    "gap.measurement_failed": {"en": "measurement: the agent's measurement failed ({error})",
                               "ja": "測定：エージェントでの測定に失敗（{error}）"},
    "gap.no_composition": {"en": "composition: no measured composition for the lot",
                           "ja": "組成：このロットの組成の測定値なし"},
    "gap.no_contaminants": {"en": "contaminants: no contaminant screening for the lot",
                            "ja": "有害物質：このロットのスクリーニングなし"},
    "gap.origin": {"en": "origin: {status!t}", "ja": "由来：{status!t}"},
    "gap.ident": {"en": "identification: {mismatch!r}; the intake record's models and their shares are not confirmed",
                  "ja": "識別：{mismatch!r}。受入記録の型式とその割合は未確認"},
    "claims.balance_alarm": {"en": "balance alarm {scope!t} {ref}", "ja": "マスバランスのアラーム（{scope!t} {ref}）"},
    "claims.untraced": {"en": "origin untraced: no lot-level recycled-content claim",
                        "ja": "由来が未追跡：ロット単位の再生材含有は主張できない"},
    "claims.ident": {"en": "identification mismatch: {mismatch!r}", "ja": "識別の不一致：{mismatch!r}"},
    "custody.untraced": {"en": "sources of the lot are not traced; only a period-level mass-balance claim is possible",
                         "ja": "ロットの由来は未追跡。期間単位のマスバランスによる主張のみ可能"},
    "custody.segregated": {"en": "all traced inputs are post-consumer (qualifying); several sources may mix",
                           "ja": "追跡済みの投入はすべて使用済み由来（適格）。複数の由来が混ざる場合あり"},
    "custody.controlled_blending": {"en": "qualifying share {share:.1%} is known for this lot from the process graph",
                                    "ja": "適格な割合 {share:.1%} が工程記録からこのロットについて判明"},
    "custody.partly_traced": {"en": "part of the input is untraced; proportion holds only on average over the balance "
                                    "period",
                              "ja": "投入の一部は未追跡。割合はバランス期間の平均でのみ成立"},
    "ident.mismatch": {"en": "lot {lot}: {problems!r}", "ja": "ロット {lot}：{problems!r}"},
    "ident.missing": {"en": "intake declares {items!l}, camera identified none of them in {n_seen} items",
                      "ja": "受入記録は {items!l}、カメラは {n_seen} 点中いずれも識別せず"},
    "ident.extra": {"en": "camera identified {items!l} not on the intake record",
                    "ja": "カメラが受入記録にない {items!l} を識別"},
    # the process graph's data errors (gateway.traceability.lineage.LineageError)
    "lineage.cycle": {"en": "cycle in process graph at lot {lot}", "ja": "工程記録が循環している（ロット {lot}）"},
    "lineage.too_deep": {"en": "lineage deeper than {max_depth} steps at lot {lot}",
                         "ja": "由来が {max_depth} 工程より深い（ロット {lot}）"},
    "lineage.unknown_lot": {"en": "lot '{lot}' is unknown (no step, intake or stored lot)",
                            "ja": "ロット「{lot}」は不明（工程・受入・保存されたロットのいずれにもない）"},
}

# Words inside a reason that are vocabulary, not data (``!t``): statistic names, bases, statuses, scopes.
TERMS: dict[str, dict[str, str]] = {
    "max": {"ja": "最大値"}, "p95": {"ja": "95パーセンタイル"}, "mean": {"ja": "平均値"},
    "max_ppm": {"ja": "最大値"}, "p95_ppm": {"ja": "95パーセンタイル"}, "mean_ppm": {"ja": "平均値"},
    "max bound (LOD)": {"ja": "最大値の上限（検出下限）"}, "mean bound (LOD)": {"ja": "平均値の上限（検出下限）"},
    "p95 bound (LOD)": {"ja": "95パーセンタイルの上限（検出下限）"},
    "lod_ppm (all below LOD)": {"ja": "検出下限（全数が検出下限未満）"},
    "traced": {"ja": "追跡済み"}, "partly_traced": {"ja": "一部追跡"}, "untraced": {"ja": "未追跡"},
    "step": {"ja": "工程"}, "period": {"ja": "期間"}, "lot": {"ja": "ロット"}, "n/a": {"ja": "不明"},
    # process step kinds (junkan.core.traceability.ProcessStep.kind)
    "dismantling": {"ja": "解体"}, "shredding": {"ja": "破砕"}, "sorting": {"ja": "選別"},
    "regeneration": {"ja": "再生"}, "blending": {"ja": "混合"}, "other": {"ja": "その他"},
    # a device's role in the evidence, its calibration as reported, the chain-of-custody model (ISO 22095)
    "contributed": {"ja": "データあり"}, "missing": {"ja": "データなし"}, "not_reported": {"ja": "未報告"},
    "mass_balance": {"ja": "マスバランス方式"}, "segregated": {"ja": "分別管理方式"},
    "controlled_blending": {"ja": "管理された混合方式"},
    # intake source streams (IntakeLot.source_stream; "unknown": no intake record)
    "weee": {"ja": "廃電気・電子機器（WEEE）"}, "elv": {"ja": "使用済み自動車（ELV）"}, "unknown": {"ja": "不明"},
    # the measurement's fixed method descriptions (junkan.core.measurement: Contaminant.method, mass_method)
    "Kaplan-Meier for left-censored data (flipped; Helsel 2012); residual below the lowest detect at 1/2 LOD, "
    "bounds 0..LOD; '<LOD' never set to 0": {
        "ja": "左側打ち切りデータのカプラン・マイヤー推定（反転法、Helsel 2012）。最小検出値未満の残余は検出下限の"
              "1/2、範囲は0〜検出下限。'<LOD' を0とすることはない"},
    "piece mass = density x thickness x shape_factor x size^2; thickness per polymer weighted by the lot's "
    "identified product models (params.model_parts) or calibrated; ratio estimator, CI: linearisation variance "
    "(x (1 + piece_mass_cv^2)) plus delta-method variance of the thickness/density calibration, Wilson at "
    "effective n": {
        "ja": "片の質量 = 密度 × 厚さ × 形状係数 × 寸法²。樹脂ごとの厚さはロットで識別された製品型式"
              "（params.model_parts）による加重、または校正値。比推定量。信頼区間：線形化分散"
              "（×(1 + piece_mass_cv²)）に厚さ・密度校正のデルタ法分散を加え、有効標本数でのWilson区間"},
}


def _plain(value: Any) -> Any:
    if isinstance(value, Reason):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def reason(code: str, **params: Any) -> Reason:
    """The reason ``code`` with its figures (nested reasons as {code, params}); unknown codes fail here."""
    if code not in TEMPLATES:
        raise KeyError(f"unknown reason code {code!r}")
    return Reason(code=code, params={k: _plain(v) for k, v in params.items()})


def term(word: str, lang: str) -> str:
    """A vocabulary word (step kind, device role, custody model, stream...) in ``lang``; unknown words as
    recorded."""
    return TERMS.get(word, {}).get(lang, word)


class _Renderer(string.Formatter):
    def __init__(self, lang: str) -> None:
        self.lang = lang

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion == "t":
            return term(value, self.lang) if isinstance(value, str) else value
        if conversion == "r":
            return self.nested(value)
        if conversion == "l":
            return _LIST_SEP[self.lang].join(str(v) for v in value)
        return super().convert_field(value, conversion)

    def nested(self, value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, list):
            return _REASONS_SEP[self.lang].join(self.nested(v) for v in value)
        return self.render(value["code"], value.get("params") or {})

    def render(self, code: str, params: Mapping[str, Any]) -> str:
        templates = TEMPLATES[code]
        return self.vformat(templates.get(self.lang) or templates["en"], (), params)


def text(r: Reason, lang: str = "en") -> str:
    """The sentence of ``r`` in ``lang`` (English for an unknown language)."""
    return _Renderer(lang if lang in LANGS else "en").render(r.code, r.params)


def texts(plain: Sequence[str], coded: Sequence[Reason], lang: str) -> list[str]:
    """What to show for a list of reasons: their English text as recorded, or the codes rendered in ``lang``
    (the text when the codes do not match it one for one, e.g. a document made before codes existed)."""
    if lang == "en" or len(coded) != len(plain):
        return list(plain)
    return [text(c, lang) for c in coded]


def one(plain: str, coded: Reason | None, lang: str) -> str:
    return plain if coded is None else texts([plain], [coded], lang)[0]


def join(items: Sequence[str], lang: str) -> str:
    """Reasons on one line, with the language's separator."""
    return _REASONS_SEP.get(lang, "; ").join(items)


def english_phrases() -> list[str]:
    """The English templates' fixed wording that no Japanese rendering contains (longest first): what a
    Japanese page or certificate must not show. Tests look for these; acronyms shared by both (XRF Br,
    GC-MS) are left out."""
    japanese = " ".join([t["ja"] for t in TEMPLATES.values()] + [v["ja"] for v in TERMS.values()])
    found = {frag for t in TEMPLATES.values() for lit, _, _, _ in string.Formatter().parse(t["en"])
             if re.search("[a-z]{3,}", frag := lit.strip(" ;:,.()'<>=")) and frag not in japanese}
    found |= {k for k in TERMS if re.search("[a-z]{3,}", k) and (len(k) >= 5 or " " in k)}  # not "lot", "max"
    return sorted(found, key=len, reverse=True)
