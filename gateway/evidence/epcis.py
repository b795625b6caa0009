"""EPCIS 2.0 JSON-LD for an evidence document: receiving ObjectEvents for intake lots, one
TransformationEvent per process step, and an inspecting ObjectEvent with ``sensorElementList`` for
the lot measurement (Mass in KGM, Br and other analytes as Dimensionless + chemicalSubstance, uom 59).
Mapping per shared/reference/standards.md §1 (bare CBV words; no ``transforming`` bizStep).
"""

from __future__ import annotations

from typing import Any, Literal

from gateway.evidence.epcis_events import (
    AnalyteReport,
    Event,
    IntakeEvent,
    MassBalanceExt,
    MassReport,
    MeasurementEvent,
    PersistentDisposition,
    PolymerShareReport,
    Product,
    Quantity,
    ReadPoint,
    SensorElement,
    SensorMetadata,
    SensorReport,
    StepEvent,
)
from gateway.evidence.ids import VOC, cas_uri, device_uri, event_uri, lot_uri, site_uri
from junkan.core.evidence import Evidence
from junkan.core.measurement_model import Composition

CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", {"rcy": VOC}]


def _time(value: str | None, fallback: str) -> str:
    text = value or fallback
    return text.replace("+00:00", "Z") if text.endswith("+00:00") else text


def _qty(lot_id: str, kg: float) -> Quantity:
    return Quantity(epcClass=lot_uri(lot_id), quantity=round(float(kg), 6))


def intake_events(ev: Evidence) -> list[IntakeEvent]:
    return [IntakeEvent(eventID=event_uri("intake", src.lot_id), eventTime=_time(src.received_at, ev.issued_at),
                        quantityList=[_qty(src.lot_id, src.net_mass_kg or src.attributed_kg)],
                        source_stream=src.source_stream, consumer=src.consumer,
                        products=[Product(model=p.model, items=p.n_items, attributed_kg=p.attributed_kg)
                                  for p in src.products],
                        plant=src.plant or None)
            for src in ev.origin.source_lots if src.net_mass_kg is not None or src.received_at is not None]


def step_events(ev: Evidence) -> list[StepEvent]:
    out = []
    for step in ev.mass_balance.steps:
        both = bool(step.inputs and step.outputs)
        out.append(StepEvent(
            eventID=event_uri("step", step.step_id), eventTime=_time(step.ended_at, ev.issued_at),
            transformationID=f"urn:junkan:step:{step.step_id}",
            inputQuantityList=[_qty(x.lot_id, x.mass_kg) for x in step.inputs] if both else None,
            outputQuantityList=[_qty(x.lot_id, x.mass_kg) for x in step.outputs] if both else None,
            process_type=step.kind,
            mass_balance=MassBalanceExt(input_kg=step.input_mass_kg, output_kg=step.output_mass_kg,
                                        declared_loss_kg=step.declared_loss_kg, ok=step.balance_ok)))
    return out


def sensor_reports(ev: Evidence) -> list[SensorReport]:
    lot = ev.lot
    t = _time(lot.closed_at, ev.issued_at)
    reports: list[SensorReport] = []
    if lot.net_mass_kg:
        reports.append(MassReport(value=round(float(lot.net_mass_kg), 6), time=t, feature="net"))
    for c in ev.contaminants:
        reports.append(AnalyteReport(
            time=t, chemicalSubstance=cas_uri(c.cas) if c.cas else None, analyte=None if c.cas else c.analyte,
            meanValue=c.mean_ppm, maxValue=c.max_ppm, percRank=95 if c.p95_ppm is not None else None,
            percValue=c.p95_ppm, value=c.mean_ppm, method=c.method or None, lod_ppm=c.lod_ppm, n=c.n))
    by_mass = ev.composition.by_mass if isinstance(ev.composition, Composition) else {}
    for polymer, entry in sorted(by_mass.items()):
        lo, hi = entry.ci95
        reports.append(PolymerShareReport(stringValue=polymer, value=round(100 * entry.share, 4), time=t,
                                          minValue=round(100 * lo, 4), maxValue=round(100 * hi, 4)))
    return reports


def measurement_event(ev: Evidence) -> MeasurementEvent | None:
    reports = sensor_reports(ev)
    if not reports:
        return None
    lot = ev.lot
    devices = [d for d in ev.devices if d.role == "contributed"]
    meta = SensorMetadata(deviceID=device_uri(devices[0].agent, devices[0].device)) if devices else None
    results = {c.result for c in ev.conformance}
    disposition: Literal["conformant", "non_conformant", "in_progress"] | None = None
    if results:
        disposition = "non_conformant" if "non_conformant" in results else (
            "conformant" if results == {"conformant"} else "in_progress")
    return MeasurementEvent(
        eventID=event_uri("measurement", lot.lot_id), eventTime=_time(lot.closed_at, ev.issued_at),
        quantityList=[_qty(lot.lot_id, lot.net_mass_kg or 0.0)], readPoint=ReadPoint(id=site_uri(lot.site, lot.line)),
        sensorElementList=[SensorElement(sensorReport=reports, sensorMetadata=meta)],
        devices=[device_uri(d.agent, d.device) for d in devices], disposition=disposition,
        persistentDisposition=PersistentDisposition(set=["non_conformant"]) if disposition == "non_conformant"
        else None)


def events(ev: Evidence) -> list[Event]:
    """The lot's whole story: intake, steps, then the measurement (when there is one)."""
    found: list[Event] = [*intake_events(ev), *step_events(ev)]
    if (m := measurement_event(ev)) is not None:
        found.append(m)
    return found


def epcis_document(ev: Evidence) -> dict[str, Any]:
    """The lot's whole story as one EPCISDocument (JSON-LD)."""
    return {"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0",
            "creationDate": ev.issued_at, "id": event_uri("document", ev.evidence_id),
            "sender": ev.issuer.id, "epcisBody": {"eventList": [e.as_json() for e in events(ev)]}}
