"""Assemble the composition evidence of one lot (schema ``junkan.evidence/1``, docs/evidence.md).

Everything comes from the store: the lot and its measurement, devices, lineage (process graph +
intake + composition records), requirement specs and balance alarms. A missing piece is reported in
``data_gaps`` and as ``insufficient_data``; no number is invented.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any

from gateway.composition.ident_repo import match_pending
from gateway.composition.model import CARRY_OVER
from gateway.composition.repo import substances_of
from gateway.specs.conformance import conformance
from gateway.specs.model import ANALYTE_CAS, RequirementSpec
from gateway.specs.repo import list_specs
from gateway.store.base import Store
from gateway.store.db import Database
from gateway.traceability.lineage import LineageError, backward, blocking_alarms

SCHEMA = "junkan.evidence/1"
_PLASTIC = re.compile(r"\b(PP|PE|HDPE|LDPE|ABS|HIPS|PS|PC|PA\d*|PVC|PET|PBT|PMMA|POM|PPE|PPO|SAN|TPE|EPS|M-01\d)\b|"
                      r"plastic|polymer|resin", re.IGNORECASE)


def is_plastic(material_class: str | None, name: str | None) -> bool | None:
    text = f"{material_class or ''} {name or ''}".strip()
    if not text or text.startswith("(unspecified)"):
        return None
    return bool(_PLASTIC.search(text))


def _measurement(lot: dict[str, Any] | None) -> dict[str, Any]:
    meas = (lot or {}).get("measurement")
    return meas if isinstance(meas, dict) else {}


def origin_section(db: Database, lineage: dict[str, Any] | None) -> dict[str, Any]:
    """Where the lot's material came from; ``identifications`` counts matches by method per source lot
    (gtin / exact / normalised / fuzzy / operator, and unmatched / rejected), so no fuzzy match is hidden."""
    known = [s for s in (lineage or {}).get("sources", []) if s["source_stream"] is not None or s["products"]]
    if lineage is None or not known:
        return {"status": "untraced", "post_consumer_share": None, "streams_kg": {}, "source_lots": [], "models": [],
                "manufacturers": [], "categories": [], "plants": [], "received": None, "identifications": {}}
    total = lineage["source_input_mass_kg"] or 0.0
    streams: dict[str, float] = defaultdict(float)
    consumer: dict[str, float] = defaultdict(float)
    for src in lineage["sources"]:
        streams[src["source_stream"] or "unknown"] += src["attributed_kg"]
        consumer[src["consumer"] or "unknown"] += src["attributed_kg"]
    by: dict[str, dict[str, float]] = {"manufacturer": defaultdict(float), "category": defaultdict(float)}
    for m in lineage["models"]:
        for key in by:
            by[key][m.get(key) or "unknown"] += m["attributed_kg"]

    def shares(d: dict[str, float]) -> list[dict[str, Any]]:
        return [{"name": k, "attributed_kg": round(v, 6), "share": round(v / total, 6) if total else None}
                for k, v in sorted(d.items(), key=lambda kv: -kv[1])]

    dates = sorted(s["received_at"] for s in lineage["sources"] if s["received_at"])
    idents: dict[str, dict[str, int]] = {}
    for src in lineage["sources"]:
        for row in db.rows("SELECT status, method, COUNT(*) AS n FROM ident_matches WHERE lot_id = ? "
                           "GROUP BY status, method", (src["lot_id"],)):
            key = row["method"] if row["status"] in ("matched", "resolved") else row["status"]
            idents.setdefault(src["lot_id"], {})[key or row["status"]] = int(row["n"])
    untraced = sum(s["attributed_kg"] for s in lineage["sources"] if s["source_stream"] is None)
    return {
        "status": "traced" if untraced == 0 else "partly_traced",
        "post_consumer_share": round(consumer.get("post_consumer", 0.0) / total, 6) if total else None,
        "streams_kg": {k: round(v, 6) for k, v in streams.items()},
        "source_lots": lineage["sources"], "models": lineage["models"],
        "manufacturers": shares(by["manufacturer"]), "categories": shares(by["category"]),
        "plants": lineage["plants"],
        "received": {"first": dates[0], "last": dates[-1]} if dates else None,
        "unattributed_kg": lineage["unattributed_kg"],
        "identifications": idents,
    }


def declared_substances(db: Database, lineage: dict[str, Any] | None) -> dict[str, Any]:
    """Substances the source products' records declare, with the mass share of sources declaring them."""
    if lineage is None or not lineage["models"]:
        return {"status": "insufficient_data", "reason": "no source products known", "substances": []}
    models = lineage["models"]
    total = sum(m["attributed_kg"] for m in models)
    with_record = [m for m in models if m.get("product_id")]
    rows = substances_of(db, [m["product_id"] for m in with_record])
    known_ids = {r["product_id"] for r in db.rows("SELECT product_id FROM comp_products")} if with_record else set()
    covered = sum(m["attributed_kg"] for m in with_record if m["product_id"] in known_ids)
    mass_of = {m["product_id"]: m["attributed_kg"] for m in with_record}
    model_of = {m["product_id"]: m["model"] for m in with_record}
    found: dict[str, dict[str, Any]] = {}
    for r in rows:
        key = r["cas"] or r["substance"].lower()
        entry = found.setdefault(key, {"cas": r["cas"], "name": CARRY_OVER.get(r["cas"] or "", (r["substance"],))[0],
                                       "group": CARRY_OVER.get(r["cas"] or "", ("", None))[1], "products": set(),
                                       "materials": set(), "in_plastic": False, "max_fraction": None})
        entry["products"].add(r["product_id"])
        entry["materials"].add(f"{r['material']} ({r['material_class'] or 'class not stated'})")
        plastic = is_plastic(r["material_class"], r["material"])
        entry["in_plastic"] = entry["in_plastic"] or plastic is not False
        if r["fraction"] is not None:
            entry["max_fraction"] = max(entry["max_fraction"] or 0.0, r["fraction"])
    out = []
    for entry in found.values():
        mass = sum(mass_of.get(p, 0.0) for p in entry["products"])
        out.append({"cas": entry["cas"], "name": entry["name"], "group": entry["group"],
                    "can_carry_over": entry["in_plastic"],
                    "declared_in_models": sorted(model_of[p] for p in entry["products"]),
                    "materials": sorted(entry["materials"]), "max_fraction_in_material": entry["max_fraction"],
                    "source_mass_kg": round(mass, 6), "source_share": round(mass / total, 6) if total else None})
    out.sort(key=lambda e: (-(e["source_share"] or 0), e["name"]))
    return {"status": "complete" if covered >= total - 1e-9 else "partial",
            "record_coverage_share": round(covered / total, 6) if total else None,
            "models_without_record": sorted(m["model"] for m in models if not m.get("product_id")),
            "substances": out}


def contaminant_section(measurement: dict[str, Any]) -> list[dict[str, Any]]:
    cont = measurement.get("contaminants")
    if not isinstance(cont, dict):
        return []
    keys = ("n", "n_below_lod", "mean_ppm", "p95_ppm", "max_ppm", "lod_ppm", "method", "thresholds")
    return [{"analyte": a, "cas": ANALYTE_CAS.get(a), **{k: v.get(k) for k in keys}}
            for a, v in sorted(cont.items()) if isinstance(v, dict)]


def device_section(store: Store, lot: dict[str, Any] | None, measurement: dict[str, Any]) -> list[dict[str, Any]]:
    if lot is None:
        return []
    raw = measurement.get("devices")
    info: dict[str, Any] = raw if isinstance(raw, dict) else {}
    contributed = set(info.get("contributed") or lot.get("devices") or [])
    missing = set(info.get("missing") or [])
    degraded: dict[str, Any] = {str(d.get("device")): d.get("reason") for d in info.get("degraded") or []
                                if isinstance(d, dict)}
    known = {(d["agent"], d["device"]): d for d in store.list_devices()}
    calibration: dict[str, Any] = {}
    for r in store.lot_readings(lot["lot_id"]):
        data = r.get("data")
        if isinstance(data, dict) and isinstance(data.get("calibration"), dict):
            calibration[r["device"]] = data["calibration"]
    out = []
    for name in sorted({str(n) for n in contributed | missing | set(degraded)}):
        dev = known.get((lot["agent"], name), {})
        out.append({"device": name, "agent": lot["agent"], "driver": dev.get("driver"), "state": dev.get("state"),
                    "role": "missing" if name in missing else "contributed",
                    "degraded": degraded.get(name),
                    "calibration": calibration.get(name, {"status": "not_reported"})})
    return out


def chain_of_custody(origin: dict[str, Any]) -> dict[str, Any]:
    """ISO 22095 model the evidence supports, from how completely and purely the sources are known."""
    if origin["status"] == "untraced":
        return {"model": "mass_balance", "reason": "sources of the lot are not traced; only a period-level "
                "mass-balance claim is possible", "standard": "ISO 22095:2020"}
    share = origin.get("post_consumer_share") or 0.0
    if origin["status"] == "traced" and share >= 1.0 - 1e-9:
        return {"model": "segregated", "reason": "all traced inputs are post-consumer (qualifying); "
                "several sources may mix", "standard": "ISO 22095:2020"}
    if origin["status"] == "traced":
        return {"model": "controlled_blending", "reason": f"qualifying share {share:.1%} is known for this lot "
                "from the process graph", "standard": "ISO 22095:2020"}
    return {"model": "mass_balance", "reason": "part of the input is untraced; proportion holds only on "
            "average over the balance period", "standard": "ISO 22095:2020"}


def build_evidence(store: Store, db: Database, lot_id: str, *, issuer: dict[str, Any] | None = None,
                   specs: list[RequirementSpec] | None = None, now: datetime | None = None) -> dict[str, Any]:
    """The evidence document of ``lot_id``; raises KeyError if the lot is unknown everywhere."""
    now = now or datetime.now(UTC)
    lot = store.get_lot(lot_id)
    match_pending(db, store)
    try:
        lineage: dict[str, Any] | None = backward(db, lot_id, store)
    except LineageError:
        if lot is None:
            raise KeyError(f"lot {lot_id!r} not found") from None
        lineage = None
    measurement = _measurement(lot)
    origin = origin_section(db, lineage)
    gaps = []
    if not measurement.get("composition"):
        gaps.append("composition: no measured composition for the lot")
    if not measurement.get("contaminants"):
        gaps.append("contaminants: no contaminant screening for the lot")
    if origin["status"] != "traced":
        gaps.append(f"origin: {origin['status']}")
    alarms = blocking_alarms(db, lineage) if lineage else []
    steps = lineage["steps"] if lineage else []
    spec_list = specs if specs is not None else list_specs(db)
    results = [conformance(s, measurement, now.date() if isinstance(now, datetime) else date.today())
               for s in spec_list]
    coc = chain_of_custody(origin)
    blocked = [f"balance alarm {a['scope']} {a['ref']}" for a in alarms]
    if origin["status"] == "untraced":
        blocked.append("origin untraced: no lot-level recycled-content claim")
    mass = lineage["lot_mass_kg"] if lineage else float((lot or {}).get("net_mass_kg") or 0.0)
    return {
        "schema": SCHEMA,
        "evidence_id": f"urn:junkan:evidence:{lot_id}:{now.strftime('%Y%m%dT%H%M%SZ')}",
        "issued_at": now.isoformat().replace("+00:00", "Z"),
        "issuer": issuer or {"name": "unconfigured plant", "id": "did:web:plant.invalid"},
        "lot": {"lot_id": lot_id, "site": (lot or {}).get("site"), "line": (lot or {}).get("line"),
                "agent": (lot or {}).get("agent"), "status": (lot or {}).get("status", "recorded"),
                "opened_at": (lot or {}).get("opened_at"), "closed_at": (lot or {}).get("closed_at"),
                "net_mass_kg": mass, "n_weighings": (lot or {}).get("n_weighings"),
                "recycler": (lot or {}).get("recycler"), "measurement_method": measurement.get("method")},
        "origin": origin,
        "composition": measurement.get("composition") or {"status": "insufficient_data"},
        "nir_blind_share": measurement.get("nir_blind_share"),
        "contaminants": contaminant_section(measurement),
        "declared_substances": declared_substances(db, lineage),
        "mass_balance": {
            "lot_mass_kg": mass,
            "source_input_mass_kg": lineage["source_input_mass_kg"] if lineage else None,
            "steps": steps, "ok": all(s["balance_ok"] for s in steps) and not alarms,
            "alarms": [{"id": a["id"], "scope": a["scope"], "ref": a["ref"], "raised_at": a["raised_at"],
                        "detail": a["detail"]} for a in alarms]},
        "chain_of_custody": coc,
        "devices": device_section(store, lot, measurement),
        "conformance": results,
        "claims": {"blocked": bool(blocked), "reasons": blocked,
                   "recycled_content_share": origin.get("post_consumer_share"),
                   "chain_of_custody_model": coc["model"]},
        "data_gaps": gaps,
    }
