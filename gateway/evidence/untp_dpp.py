"""UNTP 0.6.1 DigitalProductPassport for an output lot (batch granularity), beside the DCC and DTE.

- ``product``: the lot (id ``urn:junkan:lot:…``, batch number, weighed net mass as ``dimensions.weight`` KGM,
  produced by the issuing plant, production date = the lot's close date);
- ``materialsProvenance``: one material per measured polymer, named per ISO 1043-1 (``iso1043.py``),
  ``massFraction`` = the measured mass share (0..1), ``mass`` = share x lot mass (KGM); ``recycledMassFraction``
  = the traced pre- plus post-consumer share of the lot's sources, **only while claims are not blocked**
  (absent otherwise: the passport then claims no recycled content);
- ``circularityScorecard.recycledContent``: the same share under the same rule;
- ``conformityClaim``: the DCC's assessments as claims (same declared values, regulations and conformance),
  each with ``conformityEvidence`` = a SecureLink to the lot's DCC and the SHA-256 of the DCC issued from the
  same evidence (``untp-dcc`` bytes, which are deterministic for one evidence document);
- ``traceabilityInformation``: the recycling chain, ``verifiedRatio`` = traced share of the source mass,
  linked to the lot's DTE the same way.
UNTP has no pre/post-consumer split in a material; the DCC's recycled-content claim carries it.
"""

from __future__ import annotations

import hashlib
from urllib.parse import quote

from gateway.evidence import untp, untp_dte
from gateway.evidence.catenax import recycled_split
from gateway.evidence.did import DidError, base_url
from gateway.evidence.ids import event_uri, lot_uri
from gateway.evidence.iso1043 import standard_name
from gateway.evidence.untp_model import (
    Body,
    Circularity,
    Claim,
    Conformity,
    Dimension,
    Material,
    Measure,
    PassportCredential,
    PassportProduct,
    ProductPassport,
    SecureLink,
    TraceabilityPerformance,
)
from junkan.core.evidence import Evidence
from junkan.core.json_types import JsonObject
from junkan.core.measurement_model import Composition

DPP_CONTEXT = [untp.VC, "https://test.uncefact.org/vocabulary/untp/dpp/0.6.1/"]
LINK_TYPES = "https://test.uncefact.org/vocabulary/linkTypes/"


def evidence_url(ev: Evidence, fmt: str) -> str:
    """Where the gateway serves this lot's credential in ``fmt`` (the issuer's did:web origin)."""
    try:
        base = base_url(ev.issuer.id)
    except DidError:  # not a did:web issuer: no web origin to point at
        return f"urn:junkan:evidence:{quote(ev.lot.lot_id, safe='')}:{fmt}"
    return f"{base}/api/v1/lots/{quote(ev.lot.lot_id, safe='')}/evidence?format={fmt}"


def link(ev: Evidence, fmt: str, name: str, kind: str, document: JsonObject) -> SecureLink:
    """A SecureLink whose hash is of the bytes the ``fmt`` exporter writes for this same evidence."""
    from gateway.evidence.exporters import as_json  # the registry imports this module

    return SecureLink(linkURL=evidence_url(ev, fmt), linkName=name, linkType=LINK_TYPES + kind,
                      hashDigest=hashlib.sha256(as_json(document)).hexdigest())


def materials(ev: Evidence, recycled: float | None) -> list[Material]:
    if not isinstance(ev.composition, Composition):
        return []
    mass = float(ev.lot.net_mass_kg or 0.0)
    return [Material(name=standard_name(polymer).symbol, massFraction=round(m.share, 6),
                     mass=Measure(value=round(m.share * mass, 6), unit=untp.KGM), recycledMassFraction=recycled)
            for polymer, m in sorted(ev.composition.by_mass.items(), key=lambda kv: -kv[1].share)]


def _blind(ev: Evidence) -> str:
    """What the material fractions are fractions of: the NIR sees only the pieces it identifies."""
    if not isinstance(ev.composition, Composition):
        return "; composition not measured: no material fractions"
    blind = ev.nir_blind_share
    seen = f" (the camera saw {100 * blind.by_area:.3g} % of the area as NIR-blind pieces)" if blind else ""
    return f"; material mass fractions are of the NIR-identified pieces{seen}"


def passport(ev: Evidence) -> PassportCredential:
    lot = ev.lot
    split = recycled_split(ev)
    recycled = round(split.recycled, 6) if split.claimed else None
    dcc_link = link(ev, "untp-dcc", f"Digital Conformity Credential of lot {lot.lot_id}", "dcc", untp.dcc(ev))
    shared = set(Conformity.model_fields) - {"type", "description"}
    claims = [Claim(**{k: getattr(a, k) for k in shared}, description=f"{a.name}: {a.description}",
                    conformityEvidence=dcc_link) for a in untp.assessments(ev)]
    steps = ", ".join(s.kind for s in ev.mass_balance.steps) or "no recorded process step"
    trace = TraceabilityPerformance(
        valueChainProcess=f"recycling: intake, {steps}", verifiedRatio=round(1.0 - split.unknown, 6),
        traceabilityEvent=[link(ev, "untp-dte", f"Digital Traceability Events of lot {lot.lot_id}", "dte",
                                untp_dte.dte(ev))])
    product = PassportProduct(
        id=lot_uri(lot.lot_id, ev.issuer.gs1), name=f"Recycled material lot {lot.lot_id}", batchNumber=lot.lot_id,
        description=f"Recycled plastic lot {lot.lot_id} ({lot.site or 'site not recorded'}); composition measured "
                    "by NIR, contaminants by XRF screening (junkan composition evidence)" + _blind(ev),
        producedByParty=Body(id=ev.issuer.id, name=ev.issuer.name),
        productionDate=lot.closed_at[:10] if lot.closed_at else None,
        dimensions=Dimension(weight=Measure(value=float(lot.net_mass_kg), unit=untp.KGM)))
    return PassportCredential(
        context=DPP_CONTEXT, id=event_uri("dpp-credential", ev.evidence_id), issuer=untp.Issuer(
            id=ev.issuer.id, name=ev.issuer.name), validFrom=untp.zulu(ev.issued_at),
        credentialSubject=ProductPassport(
            id=lot_uri(lot.lot_id, ev.issuer.gs1), product=product, conformityClaim=claims,
            circularityScorecard=Circularity(recycledContent=recycled), traceabilityInformation=[trace],
            materialsProvenance=materials(ev, recycled)))


def dpp(ev: Evidence) -> JsonObject:
    """The DigitalProductPassport as JSON-LD."""
    return passport(ev).as_json()
