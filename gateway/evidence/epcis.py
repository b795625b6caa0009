"""EPCIS 2.0 JSON-LD for an evidence document: receiving ObjectEvents for intake lots, one
TransformationEvent per process step (bizStep per step kind, CBV 2.0), and an inspecting ObjectEvent whose
``sensorElementList`` has one element per measuring function, each naming the device(s) that measured it.

Why each choice (docs/evidence.md §EPCIS): CBV's ``disassembling`` is its own example of dismantling
e-waste before recycling; shredding, sorting, regeneration and blending make new quantities of class-level
lots (``creating_class_instance``; CBV's example sorts potatoes into a lot); a kind CBV has no word for is
``other``, never a guess. A value is attributed to a device only when the lot's stored readings show that
device produced that kind of reading (weighing -> scale, xrf -> XRF analyser, nir_object -> NIR analyser):
sorting devices by name had put every report on the ident camera. Below-LOD results are never a
``value``: an all-censored analyte has only ``maxValue`` = LOD, marked as an upper bound.
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
    SpecResult,
    StepEvent,
)
from gateway.evidence.ids import VOC, cas_uri, device_type_uri, device_uri, event_uri, lot_uri, site_uri
from junkan.core.evidence import ContaminantRow, Evidence, EvidenceDevice, SourceLot
from junkan.core.measurement_model import Composition

CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", {"rcy": VOC}]

BizStep = Literal["disassembling", "creating_class_instance", "other"]
# Every step kind the process graph records (junkan.core.traceability.StepIn.kind), plus kinds older records
# and the dashboard know; a kind not here is ``other`` (CBV: "a business step not identified by any of the
# values listed in the CBV"), its own name kept in rcy:processType.
STEP_BIZSTEPS: dict[str, BizStep] = {
    "dismantling": "disassembling",
    "shredding": "creating_class_instance",
    "sorting": "creating_class_instance",
    "regeneration": "creating_class_instance",
    "blending": "creating_class_instance",
    "washing": "creating_class_instance",
    "extrusion": "creating_class_instance",
    "compounding": "creating_class_instance",
    "other": "other",
}
DEFAULT_BIZSTEP: BizStep = "other"

# measuring function -> (reading kinds that produce its values, device type)
FUNCTIONS: dict[str, tuple[frozenset[str], str]] = {
    "weighing": (frozenset({"weighing", "weight"}), "scale"),
    "xrf": (frozenset({"xrf"}), "xrf_analyser"),
    "nir": (frozenset({"nir_object"}), "nir_analyser"),
}


# XRF measures total elements; the specs' CAS table has Cr(VI) (18540-29-9) but not total Cr, which must keep its
# identity as chromium (7440-47-3), never Cr(VI)'s nor none at all.
TOTAL_ELEMENT_CAS = {"Cr": "7440-47-3"}


def bizstep_of(kind: str) -> BizStep:
    """CBV bizStep of a process step kind (``other`` for one CBV has no word for)."""
    return STEP_BIZSTEPS.get(kind, DEFAULT_BIZSTEP)


def _time(value: str | None, fallback: str) -> str:
    text = value or fallback
    return text.replace("+00:00", "Z") if text.endswith("+00:00") else text


def _qty(ev: Evidence, lot_id: str, kg: float) -> Quantity:
    return Quantity(epcClass=lot_uri(lot_id, ev.issuer.gs1), quantity=round(float(kg), 6))


def received_kg(ev: Evidence, src: SourceLot) -> tuple[float, Literal["intake_record", "step_inputs", "attributed"]]:
    """The received lot's mass and where it comes from: the intake record's net mass; without one, what the
    steps of this lineage took in from it (weighed there); never the share attributed to this output lot
    (a fraction of it) unless nothing else is known, and then said so."""
    if src.net_mass_kg is not None:
        return src.net_mass_kg, "intake_record"
    fed = sum(f.mass_kg for step in ev.mass_balance.steps for f in step.inputs if f.lot_id == src.lot_id)
    return (fed, "step_inputs") if fed > 0 else (src.attributed_kg, "attributed")


def intake_events(ev: Evidence) -> list[IntakeEvent]:
    return [IntakeEvent(eventID=event_uri("intake", src.lot_id), eventTime=_time(src.received_at, ev.issued_at),
                        quantityList=[_qty(ev, src.lot_id, received_kg(ev, src)[0])],
                        mass_source=received_kg(ev, src)[1], source_stream=src.source_stream, consumer=src.consumer,
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
            inputQuantityList=[_qty(ev, x.lot_id, x.mass_kg) for x in step.inputs] if both else None,
            outputQuantityList=[_qty(ev, x.lot_id, x.mass_kg) for x in step.outputs] if both else None,
            bizStep=bizstep_of(step.kind), process_type=step.kind,
            mass_balance=MassBalanceExt(input_kg=step.input_mass_kg, output_kg=step.output_mass_kg,
                                        declared_loss_kg=step.declared_loss_kg, ok=step.balance_ok)))
    return out


def analyte_report(c: ContaminantRow, t: str) -> AnalyteReport | None:
    """One analyte as lot statistics; None without readings (nothing was measured)."""
    if c.n == 0:
        return None
    censoring: Literal["none", "partial", "all_below_lod"] = (
        "none" if c.n_below_lod == 0 else "all_below_lod" if c.n_below_lod >= c.n else "partial")
    lod = c.lod_ppm
    if censoring == "all_below_lod":  # every reading '<LOD': the LOD bounds them all, no value exists
        mean, high, bound, p95 = None, lod, True, None
    else:
        mean, p95 = c.mean_ppm, c.p95_ppm
        bound = censoring == "partial" and lod is not None and (c.max_ppm is None or lod > c.max_ppm)
        high = lod if bound else c.max_ppm
    cas = c.cas or TOTAL_ELEMENT_CAS.get(c.analyte)
    return AnalyteReport(
        time=t, chemicalSubstance=cas_uri(cas) if cas else None, analyte=c.analyte,
        meanValue=mean, maxValue=high, percRank=95 if p95 is not None else None, percValue=p95, value=mean,
        method=c.method or None, lod_ppm=lod, n=c.n, n_below_lod=c.n_below_lod, censoring=censoring,
        max_is_bound=bound)


def _reports(ev: Evidence, t: str) -> dict[str, list[SensorReport]]:
    by_function: dict[str, list[SensorReport]] = {"weighing": [], "xrf": [], "nir": []}
    if ev.lot.weighed_kg:
        by_function["weighing"].append(MassReport(value=round(float(ev.lot.weighed_kg), 6), time=t, feature="net"))
    by_function["xrf"] = [r for c in ev.contaminants if (r := analyte_report(c, t)) is not None]
    by_mass = ev.composition.by_mass if isinstance(ev.composition, Composition) else {}
    for polymer, entry in sorted(by_mass.items()):
        lo, hi = entry.ci95
        by_function["nir"].append(PolymerShareReport(stringValue=polymer, value=round(100 * entry.share, 4), time=t,
                                                     minValue=round(100 * lo, 4), maxValue=round(100 * hi, 4)))
    return by_function


def measuring_devices(ev: Evidence, function: str) -> list[EvidenceDevice]:
    """Contributing devices whose stored readings for the lot are of the function's kinds."""
    kinds = FUNCTIONS[function][0]
    return [d for d in ev.devices if d.role == "contributed" and kinds & set(d.reading_kinds)]


def sensor_elements(ev: Evidence) -> list[SensorElement]:
    lot = ev.lot
    t = _time(lot.closed_at, ev.issued_at)
    out = []
    for function, reports in _reports(ev, t).items():
        if not reports:
            continue
        devices = measuring_devices(ev, function)
        meta = None
        if len(devices) == 1:
            d = devices[0]
            meta = SensorMetadata(deviceID=device_uri(d.agent, d.device), deviceMetadata=device_type_uri(
                FUNCTIONS[function][1]), device_type=FUNCTIONS[function][1], driver=d.driver,
                startTime=_time(lot.opened_at, t) if lot.opened_at else None, endTime=t)
        out.append(SensorElement(sensorReport=reports, sensorMetadata=meta, function=function,
                                 devices=[device_uri(d.agent, d.device) for d in devices],
                                 degraded=[f"{d.device}: {d.degraded}" for d in devices if d.degraded]))
    return out


def sensor_reports(ev: Evidence) -> list[SensorReport]:
    """Every report of the measurement, in element order (mass, analytes, polymer shares)."""
    return [r for element in sensor_elements(ev) for r in element.sensorReport]


def disposition_of(ev: Evidence) -> Literal["conformant", "non_conformant"] | None:
    """From the buyers' specs: non_conformant if any spec fails, conformant only if every spec passes,
    absent otherwise (no spec, or one with insufficient data: CBV recommends omitting a disposition
    over a meaningless one)."""
    results = {c.result for c in ev.conformance}
    if "non_conformant" in results:
        return "non_conformant"
    return "conformant" if results == {"conformant"} else None


def measurement_event(ev: Evidence) -> MeasurementEvent | None:
    elements = sensor_elements(ev)
    if not elements:
        return None
    lot = ev.lot
    devices = [d for d in ev.devices if d.role == "contributed"]
    disposition = disposition_of(ev)
    return MeasurementEvent(
        eventID=event_uri("measurement", lot.lot_id), eventTime=_time(lot.closed_at, ev.issued_at),
        quantityList=[_qty(ev, lot.lot_id, lot.net_mass_kg or 0.0)],
        readPoint=ReadPoint(id=site_uri(lot.site, lot.line, ev.issuer.gs1)),
        sensorElementList=elements, devices=[device_uri(d.agent, d.device) for d in devices],
        disposition=disposition,
        persistentDisposition=PersistentDisposition(set=["non_conformant"]) if disposition == "non_conformant"
        else None,
        conformance=[SpecResult(spec=c.spec_id, result=c.result) for c in ev.conformance],
        claims_blocked=ev.claims.blocked, screening=ev.screening.status if ev.screening else None)


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
