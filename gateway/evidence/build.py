"""Assemble the composition evidence of one lot (schema ``junkan.evidence/1``, docs/evidence.md).

Everything comes from the store: the lot and its measurement, devices, lineage (process graph +
intake + composition records), requirement specs and balance alarms. A missing piece is reported in
``data_gaps`` and as ``insufficient_data``; no number is invented.

Two halves: ``load_inputs`` runs every query (a fixed number of them, whatever the lineage holds) into
``EvidenceInputs``; ``evidence_of`` and the section functions are pure over it, so each rule is tested
on hand-built inputs.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal, cast

from pydantic import JsonValue, ValidationError
from typing_extensions import TypedDict

from gateway.composition.ident_repo import LOT_PRODUCTS, match_pending
from gateway.composition.model import CARRY_OVER
from gateway.composition.repo import substances_of
from gateway.evidence.crosscheck import ident_mismatches
from gateway.evidence.keys import DEFAULT_ISSUER
from gateway.specs.conformance import conformance
from gateway.specs.lab import LabConfirmation, latest
from gateway.specs.lab_repo import confirmations, confirmed_lots
from gateway.specs.model import ANALYTE_CAS, RequirementSpec
from gateway.specs.reason_text import reason, text
from gateway.specs.repo import list_specs
from gateway.specs.screening import ScreeningSettings, claim_reason_codes, data_gap_codes, screen
from gateway.store.base import Store
from gateway.store.db import Database, chunks, marks
from gateway.store.rows import DeviceRow, LotRow
from gateway.traceability.graph import ident_counts, open_alarms
from gateway.traceability.lineage import LineageError, alarms_blocking, backward
from gateway.traceability.rows import AlarmRow, IdentCount, LotProductRow, ModelCount
from junkan.core.evidence import (
    SCHEMA,
    BalanceAlarm,
    ChainOfCustody,
    Claims,
    ContaminantRow,
    DeclaredSubstance,
    Evidence,
    EvidenceDevice,
    EvidenceLot,
    InsufficientData,
    Issuer,
    Lineage,
    MassBalance,
    NamedShare,
    Origin,
    Reason,
    Received,
    Screening,
    SubstancesDeclared,
    SubstancesUnknown,
)
from junkan.core.measurement_model import Measurement, MeasurementFailure, parse_lot_measurement

__all__ = ["SCHEMA", "build_evidence", "is_plastic", "lot_measurement", "lot_screening", "lot_screenings"]
_PLASTIC = re.compile(r"\b(PP|PE|HDPE|LDPE|ABS|HIPS|PS|PC|PA\d*|PVC|PET|PBT|PMMA|POM|PPE|PPO|SAN|TPE|EPS|M-01\d)\b|"
                      r"plastic|polymer|resin", re.IGNORECASE)


def is_plastic(material_class: str | None, name: str | None) -> bool | None:
    text = f"{material_class or ''} {name or ''}".strip()
    if not text or text.startswith("(unspecified)"):
        return None
    return bool(_PLASTIC.search(text))


def lot_measurement(lot: Mapping[str, Any] | None) -> tuple[Measurement | None, str | None, list[Reason]]:
    """The stored lot's Measurement (None without one), its method and what to say about it in data_gaps."""
    if lot is None:
        return None, None, []
    try:
        parsed = parse_lot_measurement(lot.get("measurement"))
    except ValidationError:  # stored by an agent (or tool) whose document this gateway cannot read
        return None, None, [reason("gap.measurement_unreadable")]
    if isinstance(parsed, MeasurementFailure):
        return None, parsed.method, [reason("gap.measurement_failed", error=parsed.error[:200])]
    if isinstance(parsed, Measurement):
        return parsed, parsed.method, []
    return None, None, []


def origin_section(lineage: Lineage | None, identifications: Mapping[str, Sequence[IdentCount]]) -> Origin:
    """Pure: where the lot's material came from. ``identifications`` (``graph.ident_counts``: per source lot,
    rows of status, method, n) become counts by method (gtin / exact / normalised / fuzzy / operator, and
    unmatched / rejected), so no fuzzy match is hidden."""
    known = [s for s in lineage.sources if s.source_stream is not None or s.products] if lineage else []
    if lineage is None or not known:
        return Origin(status="untraced", post_consumer_share=None, streams_kg={}, source_lots=[], models=[],
                      manufacturers=[], categories=[], plants=[], received=None, identifications={})
    total = lineage.source_input_mass_kg or 0.0
    sources, models = lineage.sources, lineage.models
    streams: dict[str, float] = defaultdict(float)
    consumer: dict[str, float] = defaultdict(float)
    for src in sources:
        streams[src.source_stream or "unknown"] += src.attributed_kg
        consumer[src.consumer or "unknown"] += src.attributed_kg
    by_manufacturer: dict[str, float] = defaultdict(float)
    by_category: dict[str, float] = defaultdict(float)
    for m in models:
        by_manufacturer[m.manufacturer or "unknown"] += m.attributed_kg
        by_category[m.category or "unknown"] += m.attributed_kg

    def shares(d: dict[str, float]) -> list[NamedShare]:
        return [NamedShare(name=k, attributed_kg=round(v, 6), share=round(v / total, 6) if total else None)
                for k, v in sorted(d.items(), key=lambda kv: -kv[1])]

    dates = sorted(s.received_at for s in sources if s.received_at)
    idents: dict[str, dict[str, int]] = {}
    for src in sources:
        for row in identifications.get(src.lot_id, []):
            key = row["method"] if row["status"] in ("matched", "resolved") else row["status"]
            idents.setdefault(src.lot_id, {})[key or row["status"]] = int(row["n"])
    untraced = sum(s.attributed_kg for s in sources if s.source_stream is None)
    return Origin(
        status="traced" if untraced == 0 else "partly_traced",
        post_consumer_share=round(consumer.get("post_consumer", 0.0) / total, 6) if total else None,
        streams_kg={k: round(v, 6) for k, v in streams.items()},
        source_lots=sources, models=models,
        manufacturers=shares(by_manufacturer), categories=shares(by_category),
        plants=lineage.plants,
        received=Received(first=dates[0], last=dates[-1]) if dates else None,
        unattributed_kg=lineage.unattributed_kg,
        identifications=idents,
    )


class SubstanceFacts(TypedDict):
    """The ``comp_substances`` columns the declared substances are read from (``repo.substances_of``)."""

    product_id: str
    material: str | None
    material_class: str | None
    substance: str
    cas: str | None
    fraction: float | None
    below_lod: int  # 1: a measured non-detect


def declared_substances(lineage: Lineage | None, rows: Sequence[SubstanceFacts], known_ids: set[str]
                         ) -> SubstancesUnknown | SubstancesDeclared:
    """Pure: substances the source products' records declare (``rows``: their ``comp_substances``; ``known_ids``:
    which of the products have a record), with the mass share of sources declaring them."""
    if lineage is None or not lineage.models:
        return SubstancesUnknown(status="insufficient_data", reason="no source products known", substances=[])
    models = lineage.models
    total = sum(m.attributed_kg for m in models)
    with_record = [m for m in models if m.product_id]
    covered = sum(m.attributed_kg for m in with_record if m.product_id in known_ids)
    mass_of = {m.product_id: m.attributed_kg for m in with_record}
    model_of = {m.product_id: m.model for m in with_record}
    found: dict[str, _Declared] = {}
    for r in rows:
        if r["below_lod"]:  # a measured non-detect (recycled-lot declaration) declares absence, not presence
            continue
        key = r["cas"] or r["substance"].lower()
        entry = found.setdefault(key, _Declared(cas=r["cas"], name=CARRY_OVER.get(r["cas"] or "", (r["substance"],))[0],
                                                group=CARRY_OVER.get(r["cas"] or "", ("", None))[1]))
        entry.products.add(r["product_id"])
        entry.materials.add(f"{r['material']} ({r['material_class'] or 'class not stated'})")
        plastic = is_plastic(r["material_class"], r["material"])
        entry.in_plastic = entry.in_plastic or plastic is not False
        if r["fraction"] is not None:
            entry.max_fraction = max(entry.max_fraction or 0.0, r["fraction"])
    out = []
    for e in found.values():
        mass = sum(mass_of.get(p, 0.0) for p in e.products)
        out.append(DeclaredSubstance(
            cas=e.cas, name=e.name, group=e.group, can_carry_over=e.in_plastic,
            declared_in_models=sorted(model_of[p] for p in e.products), materials=sorted(e.materials),
            max_fraction_in_material=e.max_fraction, source_mass_kg=round(mass, 6),
            source_share=round(mass / total, 6) if total else None))
    out.sort(key=lambda d: (-(d.source_share or 0), d.name))
    return SubstancesDeclared(status="complete" if covered >= total - 1e-9 else "partial",
                              record_coverage_share=round(covered / total, 6) if total else None,
                              models_without_record=sorted(m.model for m in models if not m.product_id),
                              substances=out)


@dataclass
class _Declared:
    """One substance while the records of the source products are folded in."""

    cas: str | None
    name: str
    group: str | None
    products: set[str] = field(default_factory=set)
    materials: set[str] = field(default_factory=set)
    in_plastic: bool = False
    max_fraction: float | None = None


def contaminant_section(measurement: Measurement | None) -> list[ContaminantRow]:
    if measurement is None:
        return []
    return [ContaminantRow(analyte=a, cas=ANALYTE_CAS.get(a), n=c.n, n_below_lod=c.n_below_lod, mean_ppm=c.mean_ppm,
                           p95_ppm=c.p95_ppm, max_ppm=c.max_ppm, lod_ppm=c.lod_ppm, method=c.method,
                           thresholds=c.thresholds)
            for a, c in sorted(measurement.contaminants.items())]


def device_section(lot: LotRow | None, measurement: Measurement | None, devices: list[DeviceRow],
                   calibration: dict[str, dict[str, JsonValue]],
                   kinds: dict[str, set[str]] | None = None) -> list[EvidenceDevice]:
    """Pure: the devices behind the lot's measurement, with driver/state (``devices``: the device rows), the
    calibration each reported in the lot's readings and the kinds of those readings (``kinds``: what each
    measured, so an export attributes a value to the device that produced it)."""
    if lot is None:
        return []
    info = measurement.devices if measurement is not None else None
    contributed = set((info.contributed if info else None) or lot.get("devices") or [])
    missing = set(info.missing) if info else set()
    degraded = {d.device: d.reason for d in info.degraded} if info else {}
    known = {(d["agent"], d["device"]): d for d in devices}
    out = []
    for name in sorted({str(n) for n in contributed | missing | set(degraded)}):
        dev = known.get((lot["agent"], name))
        out.append(EvidenceDevice(device=name, agent=lot["agent"], driver=dev["driver"] if dev else None,
                                  state=dev["state"] if dev else None,
                                  role="missing" if name in missing else "contributed", degraded=degraded.get(name),
                                  calibration=calibration.get(name, {"status": "not_reported"}),
                                  reading_kinds=sorted((kinds or {}).get(name, set()))))
    return out


def chain_of_custody(origin: Origin) -> ChainOfCustody:
    """ISO 22095 model the evidence supports, from how completely and purely the sources are known."""
    share = origin.post_consumer_share or 0.0
    model: Literal["mass_balance", "segregated", "controlled_blending"]
    if origin.status == "untraced":
        model, why = "mass_balance", reason("custody.untraced")
    elif origin.status == "traced" and share >= 1.0 - 1e-9:
        model, why = "segregated", reason("custody.segregated")
    elif origin.status == "traced":
        model, why = "controlled_blending", reason("custody.controlled_blending", share=share)
    else:
        model, why = "mass_balance", reason("custody.partly_traced")
    return ChainOfCustody(model=model, reason=text(why), standard="ISO 22095:2020", reason_code=why)


@dataclass(frozen=True)
class EvidenceInputs:
    """Everything one lot's evidence is made of, loaded before any of it is assembled."""

    lot_id: str
    lot: LotRow | None = None
    walked: Lineage | None = None  # backward() of the lot; None when the graph does not know it
    identifications: dict[str, list[IdentCount]] = field(default_factory=dict)  # per source lot
    substances: Sequence[SubstanceFacts] = field(default_factory=list)  # of the source products' records
    known_products: set[str] = field(default_factory=set)
    open_alarms: list[AlarmRow] = field(default_factory=list)
    specs: list[RequirementSpec] = field(default_factory=list)
    devices: list[DeviceRow] = field(default_factory=list)
    calibration: dict[str, dict[str, JsonValue]] = field(default_factory=dict)
    reading_kinds: dict[str, set[str]] = field(default_factory=dict)  # per device, of the lot's stored readings
    lab: list[LabConfirmation] = field(default_factory=list)  # the lot's lab confirmations
    intake_products: Sequence[ModelCount] = field(default_factory=list)  # of the lot and its sources
    camera_models: Sequence[LotProductRow] = field(default_factory=list)  # matched idents, lot and sources
    screening: ScreeningSettings = field(default_factory=ScreeningSettings)


def _product_ids(lineage: Lineage | None) -> list[str]:
    return sorted({m.product_id for m in (lineage.models if lineage else []) if m.product_id})


def _known_products(db: Database, product_ids: list[str]) -> set[str]:
    return {r["product_id"] for part in chunks(product_ids) for r in db.rows(
        f"SELECT product_id FROM comp_products WHERE product_id IN ({marks(len(part))})", list(part))}


def _substances(db: Database, product_ids: list[str]) -> list[SubstanceFacts]:
    return cast(list[SubstanceFacts], substances_of(db, product_ids))


def lot_screening(db: Database, lot_id: str, lineage: Lineage | None, today: date,
                  settings: ScreeningSettings | None = None) -> Screening:
    """The lot's BFR screening as its evidence states it, from ``lineage`` (its ``backward`` lineage, already
    loaded by the caller, e.g. the recycled-content report) plus its measurement, records and lab results."""
    return lot_screenings(db, {lot_id: lineage}, today, settings)[lot_id]


def lot_screenings(db: Database, lineages: Mapping[str, Lineage | None], today: date,
                   settings: ScreeningSettings | None = None) -> dict[str, Screening]:
    """``lot_screening`` of many lots (``lineages``: lot -> its lineage), their measurements, records and lab
    results read together: a fixed number of queries whatever the number of lots (the recycled-content report)."""
    ids = sorted(lineages)
    measured = {r["lot_id"]: r for part in chunks(ids) for r in db.rows(
        f"SELECT lot_id, measurement FROM lots WHERE lot_id IN ({marks(len(part))})", list(part), ("measurement",))}
    product_ids = sorted({p for lin in lineages.values() for p in _product_ids(lin)})
    substances = [r for part in chunks(product_ids) for r in _substances(db, list(part))]
    known = _known_products(db, product_ids)
    lab = confirmed_lots(db, ids)
    out: dict[str, Screening] = {}
    for lot_id in ids:
        lineage, mine = lineages[lot_id], set(_product_ids(lineages[lot_id]))
        declared = declared_substances(lineage, [r for r in substances if r["product_id"] in mine], known & mine)
        out[lot_id] = screen(lot_measurement(measured.get(lot_id))[0], declared, latest(lab.get(lot_id, [])), today,
                             settings)
    return out


def load_inputs(store: Store, db: Database, lot_id: str, specs: list[RequirementSpec] | None = None,
                screening: ScreeningSettings | None = None) -> EvidenceInputs:
    """Run every query the evidence needs; KeyError if the lot is unknown everywhere."""
    lot = store.get_lot(lot_id)
    match_pending(db, store)
    walked: Lineage | None
    try:
        walked = backward(db, lot_id, store)
    except LineageError:
        if lot is None:
            raise KeyError(f"lot {lot_id!r} not found") from None
        walked = None
    product_ids = _product_ids(walked)
    known = _known_products(db, product_ids)
    calibration: dict[str, dict[str, JsonValue]] = {}
    kinds: dict[str, set[str]] = {}
    for r in store.lot_readings(lot_id) if lot is not None else []:
        kinds.setdefault(r["device"], set()).add(r["kind"])
        data = r.get("data")
        if isinstance(data, dict) and isinstance(data.get("calibration"), dict):
            calibration[r["device"]] = data["calibration"]
    source_ids = [s.lot_id for s in walked.sources] if walked else []
    scope = sorted({lot_id, *source_ids})
    intake_products = [cast(ModelCount, r) for part in chunks(scope) for r in db.rows(
        f"SELECT lot_id, model, n_items FROM intake_products WHERE lot_id IN ({marks(len(part))})", list(part))]
    camera = [cast(LotProductRow, r) for part in chunks(scope)
              for r in db.rows(LOT_PRODUCTS.format(marks=marks(len(part))), list(part))]
    return EvidenceInputs(
        lab=confirmations(db, lot_id), intake_products=intake_products, camera_models=camera,
        screening=screening or ScreeningSettings(),
        lot_id=lot_id, lot=lot, walked=walked,
        identifications=ident_counts(db, source_ids) if walked else {},
        substances=_substances(db, product_ids), known_products=known,
        open_alarms=open_alarms(db) if walked else [], specs=specs if specs is not None else list_specs(db),
        devices=store.list_devices() if lot is not None else [], calibration=calibration, reading_kinds=kinds)


def build_evidence(store: Store, db: Database, lot_id: str, *, issuer: Issuer | None = None,
                   specs: list[RequirementSpec] | None = None, now: datetime | None = None,
                   screening: ScreeningSettings | None = None) -> Evidence:
    """The evidence document of ``lot_id``; raises KeyError if the lot is unknown everywhere."""
    return evidence_of(load_inputs(store, db, lot_id, specs, screening), issuer=issuer,
                       now=now or datetime.now(UTC))


def evidence_of(inputs: EvidenceInputs, *, issuer: Issuer | None, now: datetime) -> Evidence:
    """Pure: the evidence document from its loaded inputs."""
    lot_id, lot, lineage = inputs.lot_id, inputs.lot, inputs.walked
    measurement, method, gaps = lot_measurement(lot)
    origin = origin_section(lineage, inputs.identifications)
    if measurement is None:
        gaps.append(reason("gap.no_composition"))
    if measurement is None or not measurement.contaminants:
        gaps.append(reason("gap.no_contaminants"))
    if origin.status != "traced":
        gaps.append(reason("gap.origin", status=origin.status))
    alarms = [BalanceAlarm.model_validate({"id": a["id"], "scope": a["scope"], "ref": a["ref"],
                                           "raised_at": a["raised_at"], "detail": a["detail"]})
              for a in (alarms_blocking(inputs.open_alarms, lineage) if lineage else [])]
    steps = lineage.steps if lineage else []
    lab = latest(inputs.lab)
    results = [conformance(s, measurement, now.date(), lab) for s in inputs.specs]
    declared = declared_substances(lineage, inputs.substances, inputs.known_products)
    screening = screen(measurement, declared, lab, now.date(), inputs.screening)
    gaps += data_gap_codes(screening)
    mismatches = ident_mismatches(lot_id, [s.lot_id for s in origin.source_lots], inputs.intake_products,
                                  inputs.camera_models)
    gaps += [reason("gap.ident", mismatch=m.reason_code) for m in mismatches]
    coc = chain_of_custody(origin)
    blocked = [reason("claims.balance_alarm", scope=a.scope, ref=a.ref) for a in alarms]
    if origin.status == "untraced":
        blocked.append(reason("claims.untraced"))
    blocked += claim_reason_codes(screening)
    blocked += [reason("claims.ident", mismatch=m.reason_code) for m in mismatches]
    mass = lineage.lot_mass_kg if lineage else float(lot["net_mass_kg"] or 0.0) if lot else 0.0
    stored: Mapping[str, Any] = lot or {}
    return Evidence(
        evidence_id=f"urn:junkan:evidence:{lot_id}:{now.strftime('%Y%m%dT%H%M%SZ')}",
        issued_at=now.isoformat().replace("+00:00", "Z"),
        issuer=issuer or DEFAULT_ISSUER,
        lot=EvidenceLot(lot_id=lot_id, site=stored.get("site"), line=stored.get("line"), agent=stored.get("agent"),
                        status=stored.get("status", "recorded"), opened_at=stored.get("opened_at"),
                        closed_at=stored.get("closed_at"), net_mass_kg=mass, n_weighings=stored.get("n_weighings"),
                        weighed_kg=float(stored["net_mass_kg"]) if stored.get("net_mass_kg") is not None else None,
                        recycler=stored.get("recycler"), measurement_method=method),
        origin=origin,
        composition=measurement.composition if measurement is not None else InsufficientData(),
        nir_blind_share=measurement.nir_blind_share if measurement is not None else None,
        contaminants=contaminant_section(measurement),
        declared_substances=declared,
        mass_balance=MassBalance(lot_mass_kg=mass,
                                 source_input_mass_kg=lineage.source_input_mass_kg if lineage else None,
                                 steps=steps, ok=all(s.balance_ok for s in steps) and not alarms, alarms=alarms),
        chain_of_custody=coc,
        devices=device_section(lot, measurement, inputs.devices, inputs.calibration, inputs.reading_kinds),
        conformance=results,
        claims=Claims(blocked=bool(blocked), reasons=[text(r) for r in blocked],
                      recycled_content_share=origin.post_consumer_share, chain_of_custody_model=coc.model,
                      reason_codes=blocked),
        data_gaps=[text(r) for r in gaps],
        data_gap_codes=gaps,
        screening=screening,
        ident_mismatches=mismatches,
    )
