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
from gateway.evidence.untp_model import (
    Assessment,
    Attestation,
    ConformityCredential,
    Issuer,
    Item,
    Metric,
    MetricValue,
    Party,
    ProductVerification,
    QuantityElement,
    Sensor,
    SensorData,
    SensorElement,
    TraceabilityCredential,
    TraceabilityEvent,
    VerifiedProduct,
)
from junkan.core.evidence import Check, Evidence

VC = "https://www.w3.org/ns/credentials/v2"
DCC_CONTEXT = [VC, "https://test.uncefact.org/vocabulary/untp/dcc/0.6.1/"]
DTE_CONTEXT = [VC, "https://test.uncefact.org/vocabulary/untp/dte/0.6.1/"]
CBV = "https://ref.gs1.org/cbv/"


def _issuer(ev: Evidence) -> Issuer:
    return Issuer(id=ev.issuer.id, name=ev.issuer.name)


def _z(ts: str) -> str:
    return ts.replace("+00:00", "Z")


def _metric(name: str, value: float, unit: str) -> Metric:
    return Metric(metricName=name, metricValue=MetricValue(value=float(value), unit=unit))


def _declared(check: Check) -> Metric | None:
    """A check's measured value as a UNTP metric: a share (P1) for purity, mg/kg (59) for a limit."""
    if check.ci95 is not None and check.value is not None:
        return _metric(check.analyte + " share", check.value, "P1")
    value = check.value if check.value is not None else check.value_ppm
    return _metric(check.analyte, value, "59") if value is not None else None


def conformity_credential(ev: Evidence) -> ConformityCredential:
    lot = ev.lot
    product = ProductVerification(product=VerifiedProduct(id=lot_uri(lot.lot_id),
                                                          name=f"Recycled material lot {lot.lot_id}",
                                                          batchNumber=lot.lot_id))
    date = ev.issued_at[:10]
    assessments = [Assessment(
        id=event_uri("dcc", lot.lot_id, res.spec_id),
        name=f"Conformance of lot {lot.lot_id} to spec {res.spec_id} ({res.buyer})",
        description=f"result: {res.result}" + ("; " + "; ".join(res.reasons) if res.reasons else ""),
        assessmentDate=date, conformance=res.result == "conformant", conformityTopic="governance.compliance",
        declaredValue=[m for m in (_declared(c) for c in res.checks) if m is not None], assessedProduct=[product])
        for res in ev.conformance]
    share = ev.claims.recycled_content_share
    declared = [_metric("post-consumer recycled content", 100 * share, "P1")] if share is not None else []
    declared += [_metric(f"{c.analyte} max ({c.method or 'method n/a'})", c.max_ppm, "59")
                 for c in ev.contaminants if c.max_ppm is not None]
    assessments.append(Assessment(
        id=event_uri("dcc-content", lot.lot_id), name=f"Post-consumer recycled content of lot {lot.lot_id}",
        description=f"chain of custody {ev.chain_of_custody.model} (ISO 22095); "
                    + ("claims blocked: " + "; ".join(ev.claims.reasons) if ev.claims.blocked else "no blocking alarm"),
        assessmentDate=date, conformance=not ev.claims.blocked, conformityTopic="circularity.content",
        declaredValue=declared, assessedProduct=[product]))
    recycler = lot.recycler or "unassigned"
    return ConformityCredential(
        context=DCC_CONTEXT, id=event_uri("dcc-credential", ev.evidence_id), issuer=_issuer(ev),
        validFrom=_z(ev.issued_at),
        credentialSubject=Attestation(
            id=event_uri("attestation", ev.evidence_id), name=f"Composition evidence for lot {lot.lot_id}",
            description="Measured composition, contaminant screening, origin and mass balance of a recycled "
                        "material lot (junkan composition evidence).",
            issuedToParty=Party(id=f"urn:junkan:party:{recycler}", name=recycler), assessment=assessments))


def dcc(ev: Evidence) -> dict[str, Any]:
    """The DigitalConformityCredential as JSON-LD."""
    return conformity_credential(ev).as_json()


def _qe(q: Quantity) -> QuantityElement:
    return QuantityElement(productId=q.epcClass, productName=f"lot {q.epcClass.rsplit(':', 1)[-1]}",
                           quantity=q.quantity, uom=q.uom)


def _subject(e: Event) -> TraceabilityEvent:
    """One EPCIS event as a UNTP DTE event object."""
    action = e.action if isinstance(e, IntakeEvent | MeasurementEvent) else "add"
    sensors = None
    if isinstance(e, MeasurementEvent):
        sensors = []
        for element in e.sensorElementList:
            device = element.sensorMetadata.deviceID if element.sensorMetadata else device_uri(None, "unknown")
            sensors.append(SensorElement(
                sensorMetadata=Sensor(device=Item(id=device, name=device)),
                sensorReport=[SensorData(time=_z(r.time), sensorType=_sensor_type(r), value=r.value, uom=r.uom)
                              for r in element.sensorReport if r.value is not None]))
    step = e if isinstance(e, StepEvent) else None
    quantities = None if isinstance(e, StepEvent) else [_qe(q) for q in e.quantityList]
    return TraceabilityEvent(
        type=[e.type, "Event"], id=e.eventID, eventTime=_z(e.eventTime), action=action.lower(),
        bizStep=f"{CBV}BizStep-{e.bizStep}", processType=step.process_type if step else e.bizStep,
        disposition=f"{CBV}Disp-{e.disposition}" if e.disposition else None,
        inputQuantityList=[_qe(q) for q in step.inputQuantityList or []] if step else None,
        outputQuantityList=[_qe(q) for q in step.outputQuantityList or []] if step else None,
        quantityList=quantities,
        bizLocation=e.readPoint.id if isinstance(e, MeasurementEvent) else None,
        sensorElementList=sensors or None)


def traceability_credential(ev: Evidence) -> TraceabilityCredential:
    """EPCIS events mapped to UNTP DTE event objects (sensor data reduced to time/type/value/uom)."""
    return TraceabilityCredential(context=DTE_CONTEXT, id=event_uri("dte-credential", ev.evidence_id),
                                  issuer=_issuer(ev), validFrom=_z(ev.issued_at),
                                  credentialSubject=[_subject(e) for e in events(ev)])


def dte(ev: Evidence) -> dict[str, Any]:
    """The DigitalTraceabilityEvent credential as JSON-LD."""
    return traceability_credential(ev).as_json()


def _sensor_type(report: SensorReport) -> str:
    if isinstance(report, PolymerShareReport):
        return report.type.replace("rcy:", "https://junkan.invalid/voc/") + f"#{report.stringValue}"
    base = f"https://gs1.org/voc/{report.type}"
    substance = report.chemicalSubstance if isinstance(report, AnalyteReport) else None
    return base + (f"?chemicalSubstance={substance}" if substance else "")
