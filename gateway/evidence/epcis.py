"""EPCIS 2.0 JSON-LD for an evidence document: receiving ObjectEvents for intake lots, one
TransformationEvent per process step, and an inspecting ObjectEvent with ``sensorElementList`` for
the lot measurement (Mass in KGM, Br and other analytes as Dimensionless + chemicalSubstance, uom 59).
Mapping per shared/reference/standards.md §1 (bare CBV words; no ``transforming`` bizStep).
"""

from __future__ import annotations

from typing import Any

from gateway.evidence.ids import VOC, cas_uri, device_uri, event_uri, lot_uri, site_uri
from junkan.core.evidence import Evidence
from junkan.core.measurement_model import Composition

CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", {"rcy": VOC}]


def _time(value: str | None, fallback: str) -> str:
    text = value or fallback
    return text.replace("+00:00", "Z") if text.endswith("+00:00") else text


def _qty(lot_id: str, kg: float) -> dict[str, Any]:
    return {"epcClass": lot_uri(lot_id), "quantity": round(float(kg), 6), "uom": "KGM"}


def intake_events(ev: Evidence) -> list[dict[str, Any]]:
    out = []
    for src in ev.origin.source_lots:
        if src.net_mass_kg is None and src.received_at is None:
            continue
        event: dict[str, Any] = {
            "type": "ObjectEvent", "eventID": event_uri("intake", src.lot_id),
            "eventTime": _time(src.received_at, ev.issued_at), "eventTimeZoneOffset": "+00:00",
            "action": "OBSERVE", "bizStep": "receiving", "disposition": "in_progress",
            "quantityList": [_qty(src.lot_id, src.net_mass_kg or src.attributed_kg)],
            "rcy:sourceStream": src.source_stream, "rcy:consumer": src.consumer,
            "rcy:products": [{"rcy:model": p.model, "rcy:items": p.n_items,
                              "rcy:attributedKg": p.attributed_kg} for p in src.products],
        }
        if src.plant:
            event["rcy:plant"] = src.plant
        out.append(event)
    return out


def step_events(ev: Evidence) -> list[dict[str, Any]]:
    out = []
    for step in ev.mass_balance.steps:
        event: dict[str, Any] = {
            "type": "TransformationEvent", "eventID": event_uri("step", step.step_id),
            "eventTime": _time(step.ended_at, ev.issued_at), "eventTimeZoneOffset": "+00:00",
            "transformationID": f"urn:junkan:step:{step.step_id}",
            "inputQuantityList": [_qty(x.lot_id, x.mass_kg) for x in step.inputs],
            "outputQuantityList": [_qty(x.lot_id, x.mass_kg) for x in step.outputs],
            "bizStep": "creating_class_instance", "disposition": "active",
            "rcy:processType": step.kind,
            "rcy:massBalance": {"rcy:inputKg": step.input_mass_kg, "rcy:outputKg": step.output_mass_kg,
                                "rcy:declaredLossKg": step.declared_loss_kg, "rcy:ok": step.balance_ok},
        }
        if not step.inputs or not step.outputs:
            del event["inputQuantityList"], event["outputQuantityList"]
        out.append(event)
    return out


def sensor_reports(ev: Evidence) -> list[dict[str, Any]]:
    lot = ev.lot
    t = _time(lot.closed_at, ev.issued_at)
    reports: list[dict[str, Any]] = []
    if lot.net_mass_kg:
        reports.append({"type": "Mass", "value": round(float(lot.net_mass_kg), 6), "uom": "KGM", "time": t,
                        "rcy:feature": "net"})
    for c in ev.contaminants:
        rep: dict[str, Any] = {"type": "Dimensionless", "uom": "59", "time": t}
        if c.cas:
            rep["chemicalSubstance"] = cas_uri(c.cas)
        else:
            rep["rcy:analyte"] = c.analyte
        if c.mean_ppm is not None:
            rep["meanValue"] = c.mean_ppm
        if c.max_ppm is not None:
            rep["maxValue"] = c.max_ppm
        if c.p95_ppm is not None:
            rep["percRank"], rep["percValue"] = 95, c.p95_ppm
        if c.mean_ppm is not None:
            rep["value"] = c.mean_ppm
        if c.method:
            rep["rcy:method"] = c.method
        if c.lod_ppm is not None:
            rep["rcy:lodPpm"] = c.lod_ppm
        rep["rcy:n"] = c.n
        reports.append(rep)
    by_mass = ev.composition.by_mass if isinstance(ev.composition, Composition) else {}
    for polymer, entry in sorted(by_mass.items()):
        lo, hi = entry.ci95
        reports.append({"type": "rcy:PolymerMassShare", "stringValue": polymer, "value": round(100 * entry.share, 4),
                        "uom": "P1", "time": t, "minValue": round(100 * lo, 4), "maxValue": round(100 * hi, 4)})
    return reports


def measurement_event(ev: Evidence) -> dict[str, Any] | None:
    reports = sensor_reports(ev)
    if not reports:
        return None
    lot = ev.lot
    devices = [d for d in ev.devices if d.role == "contributed"]
    element: dict[str, Any] = {"sensorReport": reports}
    if devices:
        element["sensorMetadata"] = {"deviceID": device_uri(devices[0].agent, devices[0].device)}
    results = {c.result for c in ev.conformance}
    event: dict[str, Any] = {
        "type": "ObjectEvent", "eventID": event_uri("measurement", lot.lot_id),
        "eventTime": _time(lot.closed_at, ev.issued_at), "eventTimeZoneOffset": "+00:00",
        "action": "OBSERVE", "bizStep": "inspecting",
        "quantityList": [_qty(lot.lot_id, lot.net_mass_kg or 0.0)],
        "readPoint": {"id": site_uri(lot.site, lot.line)},
        "sensorElementList": [element],
        "rcy:devices": [device_uri(d.agent, d.device) for d in devices],
    }
    if results:
        event["disposition"] = "non_conformant" if "non_conformant" in results else (
            "conformant" if results == {"conformant"} else "in_progress")
        if event["disposition"] == "non_conformant":
            event["persistentDisposition"] = {"set": ["non_conformant"]}
    return event


def epcis_document(ev: Evidence) -> dict[str, Any]:
    """The lot's whole story as one EPCISDocument."""
    events = intake_events(ev) + step_events(ev)
    if (m := measurement_event(ev)) is not None:
        events.append(m)
    return {"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0",
            "creationDate": ev.issued_at, "id": event_uri("document", ev.evidence_id),
            "sender": ev.issuer.id, "epcisBody": {"eventList": events}}
