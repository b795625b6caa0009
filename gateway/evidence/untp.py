"""UNTP 0.6.1 Digital Conformity Credential of a lot (unsigned payload; ``untp-dcc-vc`` signs it as VC-JWT,
see credentials.py); its assessments are also the DPP's claims (untp_dpp.py). The DTE is untp_dte.py.

Every declared value means what it says (docs/evidence.md, "UNTP"): shares in percent (P1, value 0-100),
concentrations in ppm by mass (59 = mg/kg); a non-detect is ``score: "<LOD"`` with the LOD as its value, a
bound (PBDE from total Br, Cr(VI) from total Cr) is ``score: "upper bound"`` and named as such, never a
measured value; a lab sum (GC-MS) counting below-LOD congeners at their LOD is an upper bound, the sum of
the detected ones alone a ``"lower bound"``. Spec checks are split by the rule they come from (buyer spec /
RoHS / EU POPs) so each assessment names its ``referenceRegulation``; ``conformance`` is true only for a
conformant result; the POPs screening is its own assessment; the recycled-content assessment is not
conformant (and declares no share) while claims are blocked.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from urllib.parse import quote

from gateway.evidence.catenax import recycled_split
from gateway.evidence.declaration import censored
from gateway.evidence.ids import event_uri, lot_uri
from gateway.evidence.untp_model import (
    Assessment,
    Attestation,
    Body,
    ConformityCredential,
    Criterion,
    Issuer,
    Metric,
    MetricValue,
    Party,
    ProductVerification,
    Regulation,
    Standard,
    VerifiedProduct,
)
from junkan.core.censored import BOUND_SUFFIX
from junkan.core.evidence import Check, ConformanceResult, ContaminantRow, Evidence

VC = "https://www.w3.org/ns/credentials/v2"
DCC_CONTEXT = [VC, "https://test.uncefact.org/vocabulary/untp/dcc/0.6.1/"]
CBV = "https://ref.gs1.org/cbv/"
PERCENT, PPM, KGM = "P1", "59", "KGM"
BELOW_LOD, UPPER_BOUND, LOWER_BOUND = "<LOD", "upper bound", "lower bound"
EC = Body(id="https://commission.europa.eu/", name="European Commission")
ISO = Body(id="https://www.iso.org/", name="International Organization for Standardization (ISO)")
REGULATIONS = {  # keyword in a check's ``source`` -> the regulation it cites (EUR-Lex ELI)
    "RoHS": ("http://data.europa.eu/eli/dir/2011/65/oj", "Directive 2011/65/EU (RoHS), Annex II"),
    "POPs": ("http://data.europa.eu/eli/reg/2019/1021/oj", "Regulation (EU) 2019/1021 (POPs), Annex I"),
}
ISO_14021 = Standard(id="urn:iso:std:iso:14021", name="ISO 14021 (recycled content: pre- and post-consumer "
                     "material)", issuingParty=ISO)
LABEL = {"CrVI": "Cr(VI)", "Cr": "total Cr"}


def issuer_of(ev: Evidence) -> Issuer:
    return Issuer(id=ev.issuer.id, name=ev.issuer.name)


def zulu(ts: str) -> str:
    return ts.replace("+00:00", "Z")


def _metric(name: str, value: float, unit: str, score: str | None = None, accuracy: float | None = None) -> Metric:
    return Metric(metricName=name, metricValue=MetricValue(value=float(value), unit=unit), score=score,
                  accuracy=accuracy)


def label(analyte: str) -> str:
    return LABEL.get(analyte, analyte)


def share_metric(name: str, share: float, ci95: tuple[float, float] | None) -> Metric:
    """A 0..1 share as percent (P1); ``accuracy`` = the 95 % interval's largest distance from the value,
    relative to it (UNTP: "0.05 means the actual value is within 5 % of the claimed value")."""
    accuracy = None
    text = name
    if ci95 is not None:
        text += f" (95 % CI {100 * ci95[0]:.4g}-{100 * ci95[1]:.4g} %)"
        spread = max(share - ci95[0], ci95[1] - share)
        accuracy = round(spread / share, 6) if share > 0 and spread <= share else None
    return _metric(text, round(100 * share, 6), PERCENT, accuracy=accuracy)


def lod_above_max(row: ContaminantRow | None) -> bool:
    """Some readings are '<LOD' with a LOD above every detect: the highest detect is not the lot's maximum,
    only the LOD bounds it."""
    return (row is not None and row.n_below_lod > 0 and row.lod_ppm is not None and row.max_ppm is not None
            and row.lod_ppm > row.max_ppm)


def _max_bound(row: ContaminantRow, context: str) -> Metric:
    assert row.lod_ppm is not None and row.max_ppm is not None
    return _metric(f"{label(row.analyte)} max {context}: upper bound = the LOD {row.lod_ppm:g} mg/kg (highest "
                   f"detect {row.max_ppm:g}; {row.n_below_lod} readings below that LOD)", row.lod_ppm, PPM,
                   UPPER_BOUND)


def check_metric(check: Check, rows: dict[str, ContaminantRow]) -> Metric | None:
    """A spec check's value as what it is: a share, a measured statistic, a non-detect or an upper bound."""
    what = label(check.analyte)
    if check.ci95 is not None and check.value is not None:
        return share_metric(f"{what} mass share", check.value, check.ci95)
    value = check.value_ppm
    if value is None:
        return None
    stat = check.statistic or ""
    if stat.startswith("upper bound"):
        basis = stat.removeprefix("upper bound from ").replace("lod_ppm (all below LOD)", "LOD (all readings below "
                                                                                       "LOD)")
        return _metric(f"{what} upper bound from {basis}, not a {what} measurement", value, PPM, UPPER_BOUND)
    if stat.startswith("lod_ppm"):
        return _metric(f"{what} not detected: below the limit of detection {value:g} mg/kg (value = LOD)", value,
                       PPM, BELOW_LOD)
    method = check.method or "method n/a"
    if stat == "lab sum (LOD counted)":
        return _metric(f"{what} lab sum, congeners below LOD counted at their LOD, for '{check.check}' ({method})",
                       value, PPM, UPPER_BOUND)
    if stat == "lab sum (measured)":
        return _metric(f"{what} lab sum of the detected congeners, below-LOD ones as 0, for '{check.check}' "
                       f"({method})", value, PPM, LOWER_BOUND)
    if stat.endswith(BOUND_SUFFIX):  # '<LOD' readings may exceed the statistic: their LOD bounds it
        return _metric(f"{what} {stat.removesuffix(BOUND_SUFFIX)}: upper bound, '<LOD' readings counted at their "
                       f"LOD ({method})", value, PPM, UPPER_BOUND)
    row = rows.get(check.analyte)
    if stat == "max_ppm" and row is not None and lod_above_max(row):
        return _max_bound(row, f"({check.method or 'method n/a'})")
    return _metric(f"{what} {stat.removesuffix('_ppm')} ({check.method or 'method n/a'})", value, PPM)


def contaminant_metrics(row: ContaminantRow) -> list[Metric]:
    """The lot's screening of one analyte: a non-detect as ``<LOD`` with the LOD, else the statistics (a max
    that censored readings may exceed as an upper bound at the LOD)."""
    what, n = label(row.analyte), f"{row.n} readings"
    if censored(row):
        if row.lod_ppm is None:
            return []
        return [_metric(f"{what} not detected in {n}: below the limit of detection {row.lod_ppm:g} mg/kg "
                        "(value = LOD)", row.lod_ppm, PPM, BELOW_LOD)]
    lod = f", {row.n_below_lod} below LOD {row.lod_ppm:g} mg/kg" if row.n_below_lod and row.lod_ppm else ""
    out = [_metric(f"{what} {name} over {n}{lod} ({row.method or 'method n/a'})", value, PPM)
           for name, value in (("mean", row.mean_ppm), ("p95", row.p95_ppm), ("max", row.max_ppm))
           if value is not None and not (name == "max" and lod_above_max(row))]
    return out + ([_max_bound(row, f"over {n}")] if lod_above_max(row) else [])


def _group(check: Check) -> str:
    return next((key for key in REGULATIONS if key in (check.source or "")), "spec")


def _regulation(key: str, checks: list[Check]) -> Regulation:
    eli, name = REGULATIONS[key]
    sources = sorted({c.source for c in checks if c.source})
    return Regulation(id=eli, name=name + (" (" + "; ".join(sources) + ")" if sources else ""), administeredBy=EC)


def _criterion(spec_id: str, check: Check) -> Criterion:
    threshold = (_metric(f"{label(check.analyte)} limit", check.limit_ppm, PPM) if check.limit_ppm is not None
                 else None)
    return Criterion(id=event_uri("criterion", spec_id, check.check), name=check.check,
                     description=f"{check.check}; source: {check.source or 'buyer spec'}",
                     conformityTopic="governance.compliance", thresholdValue=threshold)


def _party(name: str) -> Body:
    return Body(id=f"urn:junkan:party:{quote(name, safe='')}", name=name)


def spec_assessments(ev: Evidence, res: ConformanceResult, product: ProductVerification) -> list[Assessment]:
    """One assessment per rule a spec's checks come from (buyer spec, RoHS, EU POPs)."""
    groups: dict[str, list[Check]] = defaultdict(list)
    rows = {c.analyte: c for c in ev.contaminants}
    for check in res.checks:
        groups[_group(check)].append(check)
    if not res.checks:
        groups["spec"] = []
    out = []
    for key, checks in groups.items():
        where = "buyer specification" if key == "spec" else key
        detail = "; ".join(f"{c.check}: {c.result} ({c.reason})" for c in checks) or "no check could be made"
        out.append(Assessment(
            id=event_uri("dcc", ev.lot.lot_id, res.spec_id, key),
            name=f"Lot {ev.lot.lot_id} against spec {res.spec_id} ({res.buyer}): {where} checks",
            description=f"spec {res.spec_id} overall result: {res.result}; {detail}",
            assessmentDate=ev.issued_at[:10],
            conformance=bool(checks) and all(c.result == "conformant" for c in checks),
            conformityTopic="governance.compliance",
            referenceStandard=Standard(id=f"urn:junkan:spec:{quote(res.spec_id, safe='')}",
                                       name=f"Requirement spec {res.spec_id} of {res.buyer}",
                                       issuingParty=_party(res.buyer)) if key == "spec" else None,
            referenceRegulation=_regulation(key, checks) if key != "spec" else None,
            assessmentCriteria=[_criterion(res.spec_id, c) for c in checks] or None,
            declaredValue=[m for m in (check_metric(c, rows) for c in checks) if m is not None],
            assessedProduct=[product]))
    return out


def screening_assessment(ev: Evidence, product: ProductVerification) -> Assessment | None:
    rows = [c for c in ev.contaminants if c.n > 0]
    if not rows:
        return None
    flagged = [f"{label(c.analyte)} above {limit} mg/kg" for c in rows for limit, t in c.thresholds.items() if t.flag]
    if ev.screening is not None and ev.screening.pops_suspect:
        flagged.append(f"POPs screening {ev.screening.status}")
    return Assessment(
        id=event_uri("dcc-screening", ev.lot.lot_id), name=f"Contaminant screening of lot {ev.lot.lot_id}",
        description="Screening statistics per analyte, censored at the LOD (never set to 0); conformance = no "
                    "screening threshold flagged and the lot not POPs-suspect (not a regulatory verdict: see the "
                    "spec and POPs assessments)"
                    + ("; flagged: " + ", ".join(flagged) if flagged else ""),
        assessmentDate=ev.issued_at[:10], conformance=not flagged, conformityTopic="governance.compliance",
        declaredValue=[m for c in rows for m in contaminant_metrics(c)], assessedProduct=[product])


def pops_assessment(ev: Evidence, product: ProductVerification) -> Assessment | None:
    """The always-on BFR screening (issue 17 item 1): conformant only when clear or cleared by a passing lab
    confirmation; the Br statistic it rests on and the lab's sums as bounds."""
    sc = ev.screening
    if sc is None:
        return None
    declared = []
    if sc.br_value_ppm is not None:
        below = (sc.br_statistic or "").startswith("lod_ppm")
        bound = (sc.br_statistic or "").endswith(BOUND_SUFFIX)
        what = "not detected: below LOD" if below else "max upper bound ('<LOD' at their LOD)" if bound else "max"
        declared.append(_metric(f"Br {what} (XRF screening; threshold {sc.br_threshold_ppm:g} mg/kg)",
                                sc.br_value_ppm, PPM, BELOW_LOD if below else UPPER_BOUND if bound else None))
    lab = sc.lab
    if lab is not None:
        rows = {c.analyte: c for c in ev.contaminants}
        declared += [m for m in (check_metric(c, rows) for c in lab.checks) if m is not None]
    detail = "; ".join(sc.causes) or "no regulated BFR declared in the sources, Br below the threshold"
    verdict = f"; lab {lab.confirmation_id}: {lab.result} ({'; '.join(lab.reasons)})" if lab is not None else ""
    eli, name = REGULATIONS["POPs"]
    return Assessment(
        id=event_uri("dcc-pops", ev.lot.lot_id), name=f"POPs screening of lot {ev.lot.lot_id} (brominated flame "
        "retardants)", description=f"status {sc.status}: {detail}{verdict}", assessmentDate=ev.issued_at[:10],
        conformance=sc.status in ("clear", "lab_confirmed"), conformityTopic="governance.compliance",
        referenceRegulation=Regulation(id=eli, name=name, administeredBy=EC), declaredValue=declared,
        assessedProduct=[product])


def content_assessment(ev: Evidence, product: ProductVerification) -> Assessment:
    split = recycled_split(ev)
    declared = [_metric("lot net mass", ev.lot.net_mass_kg, KGM)]
    if split.claimed:
        declared.append(share_metric("post-consumer recycled content", split.post_consumer + split.post_consumer_elv,
                                     None))
        if split.pre_consumer > 0:
            declared.append(share_metric("pre-consumer recycled content", split.pre_consumer, None))
        declared.append(share_metric("recycled content (pre- and post-consumer)", split.recycled, None))
        state = (f"traced sources: post-consumer {100 * (split.post_consumer + split.post_consumer_elv):.4g} %, "
                 f"pre-consumer {100 * split.pre_consumer:.4g} %, untraced {100 * split.unknown:.4g} %")
    else:
        state = "recycled content NOT claimed: claims blocked: " + ("; ".join(ev.claims.reasons) or "no traced source")
    coc = ev.chain_of_custody
    return Assessment(
        id=event_uri("dcc-content", ev.lot.lot_id), name=f"Recycled content of lot {ev.lot.lot_id}",
        description=f"chain of custody {coc.model} ({coc.standard}: {coc.reason}); {state}",
        assessmentDate=ev.issued_at[:10], conformance=split.claimed, conformityTopic="circularity.content",
        referenceStandard=ISO_14021, declaredValue=declared, assessedProduct=[product])


def assessments(ev: Evidence) -> list[Assessment]:
    """Every assessment of the lot (the DCC's, and the DPP's claims rest on them)."""
    lot = ev.lot
    product = ProductVerification(product=VerifiedProduct(id=lot_uri(lot.lot_id, ev.issuer.gs1),
                                                          name=f"Recycled material lot {lot.lot_id}",
                                                          batchNumber=lot.lot_id))
    out = [a for res in ev.conformance for a in spec_assessments(ev, res, product)]
    for extra in (screening_assessment(ev, product), pops_assessment(ev, product)):
        if extra is not None:
            out.append(extra)
    out.append(content_assessment(ev, product))
    return out


def conformity_credential(ev: Evidence) -> ConformityCredential:
    lot = ev.lot
    return ConformityCredential(
        context=DCC_CONTEXT, id=event_uri("dcc-credential", ev.evidence_id), issuer=issuer_of(ev),
        validFrom=zulu(ev.issued_at),
        credentialSubject=Attestation(
            id=event_uri("attestation", ev.evidence_id), name=f"Composition evidence for lot {lot.lot_id}",
            description="Measured composition, contaminant screening, origin and mass balance of a recycled "
                        "material lot (junkan composition evidence).",
            issuedToParty=(Party(id=f"urn:junkan:party:{quote(lot.recycler, safe='')}", name=lot.recycler)
                           if lot.recycler else Party(id=ev.issuer.id, name=ev.issuer.name)),  # none: self
            assessment=assessments(ev)))


def dcc(ev: Evidence) -> dict[str, Any]:
    """The DigitalConformityCredential as JSON-LD."""
    return conformity_credential(ev).as_json()
