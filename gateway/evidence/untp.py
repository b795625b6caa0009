"""UNTP 0.6.1 credentials (unsigned payloads; signing wraps them as VC-JWT, see signing.py):
DigitalConformityCredential for the lot's conformance and DigitalTraceabilityEvent mapped from EPCIS
(lower-case action, full CBV URIs, Item / QuantityElement objects, per shared/reference/standards.md §2).
"""

from __future__ import annotations

from typing import Any

from gateway.evidence.epcis import events
from gateway.evidence.epcis_events import (
    AnalyteReport,
    Event,
    IntakeEvent,
    MeasurementEvent,
    PolymerShareReport,
    Quantity,
    SensorReport,
    StepEvent,
)
from gateway.evidence.ids import device_uri, event_uri, lot_uri
from junkan.core.evidence import Check, Evidence

VC = "https://www.w3.org/ns/credentials/v2"
DCC_CONTEXT = [VC, "https://test.uncefact.org/vocabulary/untp/dcc/0.6.1/"]
DTE_CONTEXT = [VC, "https://test.uncefact.org/vocabulary/untp/dte/0.6.1/"]
CBV = "https://ref.gs1.org/cbv/"


def _issuer(ev: Evidence) -> dict[str, Any]:
    return {"type": ["CredentialIssuer"], "id": ev.issuer.id, "name": ev.issuer.name}


def _z(ts: str) -> str:
    return ts.replace("+00:00", "Z")


def _metric(name: str, value: float, unit: str) -> dict[str, Any]:
    return {"metricName": name, "metricValue": {"value": float(value), "unit": unit}}


def _declared(check: Check) -> dict[str, Any] | None:
    """A check's measured value as a UNTP metric: a share (P1) for purity, mg/kg (59) for a limit."""
    if check.ci95 is not None and check.value is not None:
        return _metric(check.analyte + " share", check.value, "P1")
    value = check.value if check.value is not None else check.value_ppm
    return _metric(check.analyte, value, "59") if value is not None else None


def dcc(ev: Evidence) -> dict[str, Any]:
    lot = ev.lot
    product = {"type": ["ProductVerification"],
               "product": {"id": lot_uri(lot.lot_id), "name": f"Recycled material lot {lot.lot_id}",
                           "batchNumber": lot.lot_id}, "IDverifiedByCAB": False}
    date = ev.issued_at[:10]
    assessments: list[dict[str, Any]] = []
    for res in ev.conformance:
        values = [m for m in (_declared(c) for c in res.checks) if m is not None]
        assessments.append({
            "type": ["ConformityAssessment", "Declaration"], "id": event_uri("dcc", lot.lot_id, res.spec_id),
            "name": f"Conformance of lot {lot.lot_id} to spec {res.spec_id} ({res.buyer})",
            "description": f"result: {res.result}" + ("; " + "; ".join(res.reasons) if res.reasons else ""),
            "assessmentDate": date, "conformance": res.result == "conformant",
            "conformityTopic": "governance.compliance", "declaredValue": values, "assessedProduct": [product],
        })
    share = ev.claims.recycled_content_share
    declared = [_metric("post-consumer recycled content", 100 * share, "P1")] if share is not None else []
    for c in ev.contaminants:
        if c.max_ppm is not None:
            declared.append(_metric(f"{c.analyte} max ({c.method or 'method n/a'})", c.max_ppm, "59"))
    assessments.append({
        "type": ["ConformityAssessment", "Declaration"], "id": event_uri("dcc-content", lot.lot_id),
        "name": f"Post-consumer recycled content of lot {lot.lot_id}",
        "description": f"chain of custody {ev.chain_of_custody.model} (ISO 22095); "
                       + ("claims blocked: " + "; ".join(ev.claims.reasons) if ev.claims.blocked
                          else "no blocking alarm"),
        "assessmentDate": date, "conformance": not ev.claims.blocked, "conformityTopic": "circularity.content",
        "declaredValue": declared, "assessedProduct": [product],
    })
    recycler = lot.recycler or "unassigned"
    return {
        "type": ["DigitalConformityCredential", "VerifiableCredential"], "@context": DCC_CONTEXT,
        "id": event_uri("dcc-credential", ev.evidence_id), "issuer": _issuer(ev), "validFrom": _z(ev.issued_at),
        "credentialSubject": {
            "type": ["ConformityAttestation", "Attestation"], "id": event_uri("attestation", ev.evidence_id),
            "name": f"Composition evidence for lot {lot.lot_id}", "assessorLevel": "Self",
            "assessmentLevel": "Unspecified", "attestationType": "declaration",
            "description": "Measured composition, contaminant screening, origin and mass balance of a recycled "
                           "material lot (junkan composition evidence).",
            "issuedToParty": {"id": f"urn:junkan:party:{recycler}", "name": recycler},
            "assessment": assessments,
        },
    }


def _item(uri: str, name: str) -> dict[str, Any]:
    return {"type": ["Item"], "id": uri, "name": name}


def _qe(q: Quantity) -> dict[str, Any]:
    lot_id = q.epcClass.rsplit(":", 1)[-1]
    return {"type": ["QuantityElement"], "productId": q.epcClass, "productName": f"lot {lot_id}",
            "quantity": q.quantity, "uom": q.uom}


def _subject(e: Event) -> dict[str, Any]:
    """One EPCIS event as a UNTP DTE event object."""
    action = e.action if isinstance(e, IntakeEvent | MeasurementEvent) else "add"
    out: dict[str, Any] = {"type": [e.type, "Event"], "id": e.eventID, "eventTime": _z(e.eventTime),
                           "action": action.lower(), "bizStep": f"{CBV}BizStep-{e.bizStep}",
                           "processType": e.process_type if isinstance(e, StepEvent) else e.bizStep}
    if e.disposition:
        out["disposition"] = f"{CBV}Disp-{e.disposition}"
    if isinstance(e, StepEvent):
        out["inputQuantityList"] = [_qe(q) for q in e.inputQuantityList or []]
        out["outputQuantityList"] = [_qe(q) for q in e.outputQuantityList or []]
    else:
        out["quantityList"] = [_qe(q) for q in e.quantityList]
    if isinstance(e, MeasurementEvent):
        out["bizLocation"] = e.readPoint.id
        sensors = []
        for element in e.sensorElementList:
            reports = [{"type": ["SensorData"], "time": _z(r.time), "sensorType": _sensor_type(r), "value": r.value,
                        "uom": r.uom} for r in element.sensorReport if r.value is not None]
            device = element.sensorMetadata.deviceID if element.sensorMetadata else device_uri(None, "unknown")
            sensors.append({"type": ["SensorElement"], "sensorMetadata": {"type": ["Sensor"],
                                                                          "device": _item(device, device)},
                            "sensorReport": reports})
        if sensors:
            out["sensorElementList"] = sensors
    return out


def dte(ev: Evidence) -> dict[str, Any]:
    """EPCIS events mapped to UNTP DTE event objects (sensor data reduced to time/type/value/uom)."""
    return {"type": ["DigitalTraceabilityEvent", "VerifiableCredential"], "@context": DTE_CONTEXT,
            "id": event_uri("dte-credential", ev.evidence_id), "issuer": _issuer(ev),
            "validFrom": _z(ev.issued_at), "credentialSubject": [_subject(e) for e in events(ev)]}


def _sensor_type(report: SensorReport) -> str:
    if isinstance(report, PolymerShareReport):
        return report.type.replace("rcy:", "https://junkan.invalid/voc/") + f"#{report.stringValue}"
    base = f"https://gs1.org/voc/{report.type}"
    substance = report.chemicalSubstance if isinstance(report, AnalyteReport) else None
    return base + (f"?chemicalSubstance={substance}" if substance else "")
