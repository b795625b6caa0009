"""A small recycling story in a real SQLite store: records, ident readings, intake, four steps, a measured lot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.composition.importer import import_path
from gateway.specs.lab import LabConfirmationIn
from gateway.specs.lab_repo import attach
from gateway.store.base import Incoming
from gateway.traceability.repo import record_intake, record_step
from junkan.core.ids import new_id
from junkan.core.messages import LotMessage, ReadingMessage
from junkan.core.topics import Kind, ParsedTopic
from junkan.core.traceability import IntakeIn, StepIn
from tests.measurements import wire_measurement

DATA = Path(__file__).parent / "data"
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

MEASUREMENT: dict[str, Any] = wire_measurement(**{
    "net_mass_kg": 7.0,
    "composition": {"n_objects": 1840, "mass_method": "area x density",
                    "by_count": {"PP": {"n": 1700, "share": 0.924, "ci95": [0.911, 0.935]},
                                 "ABS": {"n": 140, "share": 0.076, "ci95": [0.065, 0.089]}},
                    "by_mass": {"PP": {"share": 0.962, "ci95": [0.951, 0.971]},
                                "ABS": {"share": 0.038, "ci95": [0.029, 0.049]}}},
    "contaminants": {"Br": {"n": 1840, "n_below_lod": 1700, "mean_ppm": 41.0, "p95_ppm": 120.0, "max_ppm": 180.0,
                            "lod_ppm": 20.0, "method": "XRF (EDXRF, 30 s per object)",
                            "thresholds": {"2000": {"fraction_above": 0.0, "ci95": [0.0, 0.002]}}},
                     "Cd": {"n": 1840, "n_below_lod": 1840, "mean_ppm": None, "p95_ppm": None, "max_ppm": None,
                            "lod_ppm": 5.0, "method": "XRF (EDXRF)", "thresholds": {}}},
    "nir_blind_share": {"by_count": 0.02, "by_area": 0.015},
    "product_models": [],
    "devices": {"contributed": ["scale-pp", "nir-1", "xrf-1"], "missing": [], "degraded": []},
})


def _envelope(agent: str, seq: int) -> dict[str, Any]:
    return {"msg_id": new_id(), "agent": agent, "session": new_id(), "seq": seq, "sent_at": T0}


def store_lot(store: Any, lot_id: str, mass: float, measurement: dict[str, Any], idents: list[dict[str, Any]],
              opened: datetime, line: str = "line-1") -> None:
    topic = ParsedTopic(site="plant-a", line=line, agent=f"agent-{line}", kind=Kind.READING)
    incoming = []
    if idents:
        readings = [{"device": "cam-1", "device_seq": i, "ts": opened + timedelta(seconds=i), "kind": "ident",
                     "lot_id": lot_id, "data": data} for i, data in enumerate(idents)]
        incoming.append(Incoming(topic, ReadingMessage.model_validate(
            {**_envelope(topic.agent, 1), "body": {"readings": readings}})))
    lot = {"lot_id": lot_id, "site": "plant-a", "line": line, "agent": topic.agent, "status": "closed",
           "opened_at": opened, "closed_at": opened + timedelta(minutes=30), "close_reason": "operator",
           "net_mass_kg": mass, "n_weighings": 2, "devices": ["scale-pp"], "measurement": measurement}
    incoming.append(Incoming(ParsedTopic(site="plant-a", line=line, agent=topic.agent, kind=Kind.LOT),
                             LotMessage.model_validate({**_envelope(topic.agent, 2),
                                                        "body": {"event": "closed", "lot": lot}})))
    store.commit_batch(incoming, [], [])


def ident(model: str | None = None, gtin: str | None = None, conf: float = 0.9) -> dict[str, Any]:
    codes = [{"format": "DataMatrix", "text": f"(01){gtin}", "gs1": {"01": gtin}}] if gtin else []
    return {"codes": codes, "model_candidates": [{"model": model, "confidence": conf}] if model else []}


# A GC-MS result clearing PP-OUT-1 (its sources declare decaBDE in HIPS-FR covers: POPs-suspect without it).
LAB_CLEAN: dict[str, Any] = {
    "lab": "Kanto Analytical Lab (ISO/IEC 17025)", "method": "GC-MS IEC 62321-6:2015", "analysed_on": "2026-03-04",
    "sample_ref": "KAL-2026-0412", "report_sha256": "ab" * 32, "report_file": "KAL-2026-0412.pdf",
    "results": [{"analyte": g, "below_lod": True, "lod_mg_kg": 5.0}
                for g in ("tetraBDE", "pentaBDE", "hexaBDE", "heptaBDE", "decaBDE", "PBB")]
               + [{"analyte": "PBDE", "value_mg_kg": 12.0}]}


def build_plant(store: Any, *, break_balance: bool = False, lab_confirmed: bool = True) -> dict[str, Any]:
    db = store.db
    for name in ("tv_ipc1752a_classD.xml", "monitor_iec62474.xml", "products.csv"):
        report = import_path(db, DATA / name)
        assert report["status"] == "imported", report
    # IN-1 from the line: TVs and monitors identified by camera (GTIN, exact, O/0 confusion, fuzzy, unknown)
    store_lot(store, "IN-1", 30.5, {}, [ident(gtin="04912345000128"), ident("AZ-32LX1"), ident("az32lx1", conf=0.8),
                                       ident("KM-2401B"), ident("KM-24O1B"), ident("ZZ-999", conf=0.4)], T0)
    record_intake(db, IntakeIn(lot_id="IN-1", plant="Plant A", site="plant-a", received_at=T0,
                               source_stream="weee", net_mass_kg=30.5), store)
    record_intake(db, IntakeIn(lot_id="IN-2", plant="Plant B", received_at=T0 + timedelta(hours=1),
                               source_stream="weee", net_mass_kg=81.0,
                               products=[{"model": "AZ-50LX3", "n_items": 2}, {"model": "HR-300", "n_items": 1}]))
    t = T0 + timedelta(days=1)
    steps = [
        StepIn(step_id="DIS-1", kind="dismantling", plant="Plant A", started_at=t, ended_at=t + timedelta(hours=2),
               inputs=[{"lot_id": "IN-1", "mass_kg": 30.5}, {"lot_id": "IN-2", "mass_kg": 81.0}],
               outputs=[{"lot_id": "HOUSINGS-1", "mass_kg": 20.0, "role": "product"},
                        {"lot_id": "OTHER-1", "mass_kg": 90.0, "role": "residue"}],
               losses=[{"kind": "dust", "mass_kg": 1.0}]),
        StepIn(step_id="SHR-1", kind="shredding", plant="Plant A", started_at=t + timedelta(hours=3),
               ended_at=t + timedelta(hours=4), inputs=[{"lot_id": "HOUSINGS-1", "mass_kg": 20.0}],
               outputs=[{"lot_id": "FLAKES-1", "mass_kg": 17.0 if break_balance else 19.6, "role": "product"}],
               losses=[{"kind": "dust", "mass_kg": 0.3}]),
        StepIn(step_id="SRT-1", kind="sorting", plant="Plant A", started_at=t + timedelta(hours=5),
               ended_at=t + timedelta(hours=6), inputs=[{"lot_id": "FLAKES-1", "mass_kg": 19.6}],
               outputs=[{"lot_id": "PP-OUT-1", "mass_kg": 7.0, "role": "product"},
                        {"lot_id": "ABS-OUT-1", "mass_kg": 6.0, "role": "product"},
                        {"lot_id": "BFR-1", "mass_kg": 6.3, "role": "reject"}],
               losses=[{"kind": "fines", "mass_kg": 0.2}]),
        StepIn(step_id="REG-1", kind="regeneration", plant="Plant A", started_at=t + timedelta(hours=7),
               ended_at=t + timedelta(hours=9), inputs=[{"lot_id": "PP-OUT-1", "mass_kg": 7.0}],
               outputs=[{"lot_id": "PP-RECYCLATE-1", "mass_kg": 6.8, "role": "product"}],
               losses=[{"kind": "volatiles", "mass_kg": 0.15}]),
    ]
    results = [record_step(db, s) for s in steps]
    store_lot(store, "PP-OUT-1", 7.0, MEASUREMENT, [], t + timedelta(hours=5))
    if lab_confirmed:  # the plant has every output lot tested (the report's PP-RECYCLATE-1 and ABS-OUT-1 too)
        for lot in ("PP-OUT-1", "PP-RECYCLATE-1", "ABS-OUT-1"):
            attach(db, lot, LabConfirmationIn.model_validate(LAB_CLEAN), "lab-clerk")
    return {"db": db, "steps": results}
