"""UNTP 0.6.1 DigitalTraceabilityEvent credential: the lot's EPCIS events (epcis.py) mapped to UNTP event
objects (lower-case action, full CBV URIs, Item / QuantityElement objects, shared/reference/standards.md §2).

Sensor data keep what each value is: an analyte's ``sensorType`` carries its name, its CAS (total Cr is
7440-47-3, not Cr(VI)) and the statistic (n, nBelowLOD, mean, p95, max, lod; ``belowLOD`` = the LOD when
nothing was detected; ``maxDetected``/``maxUpperBound`` when the LOD is above every detect); polymer shares in
percent with the ISO 1043-1 symbol. A sensor element names a device only when exactly one produced its values.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from gateway.evidence.declaration import analyte_cas, censored
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
from gateway.evidence.ids import VOC, cas_uri, event_uri, lot_id_of
from gateway.evidence.iso1043 import standard_name
from gateway.evidence.untp import CBV, PPM, VC, issuer_of, lod_above_max, zulu
from gateway.evidence.untp_model import (
    Item,
    QuantityElement,
    Sensor,
    SensorData,
    SensorElement,
    TraceabilityCredential,
    TraceabilityEvent,
)
from junkan.core.evidence import ContaminantRow, Evidence

DTE_CONTEXT = [VC, "https://test.uncefact.org/vocabulary/untp/dte/0.6.1/"]


def _qe(q: Quantity) -> QuantityElement:
    return QuantityElement(productId=q.epcClass, productName=f"lot {lot_id_of(q.epcClass)}",
                           quantity=q.quantity, uom=q.uom)


def analyte_type(row: ContaminantRow, statistic: str) -> str:
    """sensorType of one analyte statistic: the GS1 measurement type with the analyte's identity (name, and CAS
    when known: total Cr is 7440-47-3, not Cr(VI)) and which statistic the value is."""
    cas = analyte_cas(row)
    substance = f"&chemicalSubstance={cas_uri(cas)}" if cas else ""
    return f"https://gs1.org/voc/Dimensionless?analyte={quote(row.analyte, safe='')}{substance}&statistic={statistic}"


def analyte_data(row: ContaminantRow, time: str) -> list[SensorData]:
    """An analyte as DTE sensor data: counts (C62), and either ``belowLOD`` = the LOD (not detected in any
    reading) or mean/p95/max with the LOD of the censored readings (ppm, 59); when that LOD is above every
    detect, ``maxDetected`` and ``maxUpperBound`` (= the LOD) instead of ``max``."""
    def data(statistic: str, value: float, uom: str = PPM) -> SensorData:
        return SensorData(time=zulu(time), sensorType=analyte_type(row, statistic), value=value, uom=uom)

    out = [data("n", row.n, "C62"), data("nBelowLOD", row.n_below_lod, "C62")]
    if censored(row):
        return out + ([data("belowLOD", row.lod_ppm)] if row.lod_ppm is not None else [])
    top = (("maxDetected", row.max_ppm), ("maxUpperBound", row.lod_ppm)) if lod_above_max(row) else (
        ("max", row.max_ppm),)
    out += [data(s, v) for s, v in (("mean", row.mean_ppm), ("p95", row.p95_ppm), *top) if v is not None]
    return out + ([data("lod", row.lod_ppm)] if row.n_below_lod and row.lod_ppm is not None else [])


def _row_of(report: AnalyteReport, rows: list[ContaminantRow]) -> ContaminantRow | None:
    return next((r for r in rows if ((cas := analyte_cas(r)) and report.chemicalSubstance == cas_uri(cas))
                 or (report.analyte is not None and report.analyte == r.analyte)), None)


def _sensor_data(report: SensorReport, rows: list[ContaminantRow]) -> list[SensorData]:
    if isinstance(report, AnalyteReport) and (row := _row_of(report, rows)) is not None:
        return analyte_data(row, report.time)
    if report.value is None:
        return []
    return [SensorData(time=zulu(report.time), sensorType=_sensor_type(report), value=report.value, uom=report.uom)]


def _subject(e: Event, rows: list[ContaminantRow]) -> TraceabilityEvent:
    """One EPCIS event as a UNTP DTE event object."""
    action = e.action if isinstance(e, IntakeEvent | MeasurementEvent) else "add"
    sensors = None
    if isinstance(e, MeasurementEvent):
        sensors = []
        for element in e.sensorElementList:
            meta = element.sensorMetadata  # None unless exactly one device measured: then none is named
            name = f"{meta.device_type} {meta.deviceID.rsplit(':', 1)[-1]}" if meta else ""
            sensors.append(SensorElement(
                sensorMetadata=Sensor(device=Item(id=meta.deviceID, name=name)) if meta else None,
                sensorReport=[d for r in element.sensorReport for d in _sensor_data(r, rows)]))
    step = e if isinstance(e, StepEvent) else None
    quantities = None if isinstance(e, StepEvent) else [_qe(q) for q in e.quantityList]
    return TraceabilityEvent(
        type=[e.type, "Event"], id=e.eventID, eventTime=zulu(e.eventTime), action=action.lower(),
        bizStep=f"{CBV}BizStep-{e.bizStep}", processType=step.process_type if step else e.bizStep,
        disposition=f"{CBV}Disp-{e.disposition}" if e.disposition else None,
        inputQuantityList=[_qe(q) for q in step.inputQuantityList or []] if step else None,
        outputQuantityList=[_qe(q) for q in step.outputQuantityList or []] if step else None,
        quantityList=quantities,
        bizLocation=e.readPoint.id if isinstance(e, MeasurementEvent) else None,
        sensorElementList=sensors or None)


def traceability_credential(ev: Evidence) -> TraceabilityCredential:
    """EPCIS events mapped to UNTP DTE event objects (sensor data as time/type/value/uom, analytes by name)."""
    rows = list(ev.contaminants)
    return TraceabilityCredential(context=DTE_CONTEXT, id=event_uri("dte-credential", ev.evidence_id),
                                  issuer=issuer_of(ev), validFrom=zulu(ev.issued_at),
                                  credentialSubject=[_subject(e, rows) for e in events(ev)])


def dte(ev: Evidence) -> dict[str, Any]:
    """The DigitalTraceabilityEvent credential as JSON-LD."""
    return traceability_credential(ev).as_json()


def _sensor_type(report: SensorReport) -> str:
    if isinstance(report, PolymerShareReport):
        return report.type.replace("rcy:", VOC) + f"#{quote(standard_name(report.stringValue).symbol, safe='+')}"
    return f"https://gs1.org/voc/{report.type}"
