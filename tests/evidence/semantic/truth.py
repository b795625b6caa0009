"""Scenario lots with known truth for the semantic suite, and a tally of exported fields checked.

Each lot is stored as a real plant would store it (closed line lot with its measurement, intake records,
a process step) on top of tests/evidence/plant.py's story. What an export must say is re-derived here from
the store's own rows (SQL on ``lots``, ``intake_lots``, ``process_flows``, ``balance_alarms``) and from the
reference tables below (ISO 1043-1 symbols, element CAS numbers, RoHS / EU POPs limits, the tetraBDE Br
fraction, written from shared/reference/), never through gateway.evidence code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from gateway.specs.model import RequirementSpec
from gateway.specs.repo import save_spec
from gateway.store.base import Incoming
from gateway.traceability.repo import record_intake, record_step
from junkan.core.ids import new_id
from junkan.core.messages import ReadingMessage
from junkan.core.topics import Kind, ParsedTopic
from junkan.core.traceability import IntakeIn, StepIn
from tests.evidence.plant import T0, build_plant, store_lot
from tests.measurements import wire_measurement

# shared/reference/regulation.md §5 (ISO 1043-1 symbols), §3-4 (RoHS limits, Br fraction of tetraBDE)
ISO_SYMBOL = {"PP": "PP", "HIPS": "PS-HI", "ABS": "ABS", "PC/ABS": "PC+ABS", "PE": "PE"}
ELEMENT_CAS = {"Br": "7726-95-6", "Cd": "7440-43-9", "Pb": "7439-92-1", "Hg": "7439-97-6", "Cr": "7440-47-3"}
ROHS_ELI, POPS_ELI = "http://data.europa.eu/eli/dir/2011/65/oj", "http://data.europa.eu/eli/reg/2019/1021/oj"
ROHS_LIMIT = {"Pb": 1000.0, "Hg": 1000.0, "CrVI": 1000.0, "PBB": 1000.0, "Cd": 100.0}
POPS_PBDE_LIMIT = 350.0  # articles from recovered material, 2025-12-30 .. 2027-12-29 (Delegated Reg. 2025/1482)
AS_OF = date(2026, 3, 1)
TETRA_BDE_BR = 4 * 79.904 / 485.80  # regulation.md §4: Br mass fraction of the Br-poorest PBDE


def _xrf(n: int, below: int, lod: float | None, mean: float | None = None, p95: float | None = None,
         mx: float | None = None) -> dict[str, Any]:
    return {"n": n, "n_below_lod": below, "mean_ppm": mean, "p95_ppm": p95, "max_ppm": mx, "lod_ppm": lod,
            "method": "XRF (EDXRF, 30 s per object)", "thresholds": {}}


def _measurement(by_mass: dict[str, tuple[float, float, float]], contaminants: dict[str, Any], kg: float
                 ) -> dict[str, Any]:
    return wire_measurement(net_mass_kg=kg, composition={
        "by_mass": {p: {"share": s, "ci95": [lo, hi]} for p, (s, lo, hi) in by_mass.items()},
        "by_count": {p: {"n": 100, "share": s, "ci95": [lo, hi]} for p, (s, lo, hi) in by_mass.items()}},
        contaminants=contaminants)


@dataclass(frozen=True)
class Lot:
    """One scenario lot: its id, and what the store was told (the truth the exports are compared with)."""

    lot_id: str
    blocked: bool  # by a balance alarm (the scenario breaks its step)
    sources: dict[str, tuple[str, str, float]] = field(default_factory=dict)  # intake lot -> (stream, consumer, kg)
    pops_suspect: bool = False  # Br above the 2000 mg/kg screening cut-off: claims blocked too (no lab result)


CLEAN = {"Pb": _xrf(400, 400, 10.0), "Hg": _xrf(400, 400, 5.0), "Cd": _xrf(400, 400, 8.0),
         "Cr": _xrf(400, 400, 15.0)}
LOTS = [
    # 75/25 HIPS/ABS mixture; every RoHS element below LOD (Cd 8, Hg 5, total Cr 15 = the Cr(VI) upper bound)
    Lot("MIX-1", False, {"IN-MIX-W": ("weee", "post_consumer", 70.0), "IN-MIX-E": ("elv", "post_consumer", 30.0)}),
    # Br screening far above what can exclude PBDE: the PBDE value is an upper bound from Br, not a measurement
    Lot("PBDE-1", False, {"IN-PBDE": ("weee", "post_consumer", 50.0)}, pops_suspect=True),
    # 40 % pre-consumer blend (recycled, not primary), partly detected Pb
    Lot("PRE-1", False, {"IN-PRE": ("other", "pre_consumer", 40.0), "IN-POST": ("weee", "post_consumer", 60.0)}),
    # a step that loses 10 kg it does not declare: balance alarm, claims blocked
    Lot("BLK-1", True, {"IN-BLK": ("weee", "post_consumer", 50.0)}),
]
MEASUREMENTS = {
    "MIX-1": _measurement({"HIPS": (0.75261, 0.7401, 0.7644), "ABS": (0.24739, 0.2356, 0.2599)},
                          {**CLEAN, "Br": _xrf(1840, 1700, 20.0, 41.0, 120.0, 180.0)}, 60.0),
    "PBDE-1": _measurement({"ABS": (0.91, 0.88, 0.94), "HIPS": (0.09, 0.06, 0.12)},
                           {**CLEAN, "Br": _xrf(900, 10, 20.0, 5132.0, 11000.0, 12300.0)}, 45.0),
    "PRE-1": _measurement({"PP": (0.97, 0.955, 0.982), "PE": (0.03, 0.018, 0.045)},
                          {**CLEAN, "Pb": _xrf(400, 380, 10.0, 12.5, 40.0, 85.0),
                           "Br": _xrf(400, 400, 5.0)}, 98.0),
    "BLK-1": _measurement({"PP": (1.0, 0.99, 1.0)}, {**CLEAN, "Br": _xrf(300, 300, 5.0)}, 40.0),
}
OUTPUT_KG = {"MIX-1": 60.0, "PBDE-1": 45.0, "PRE-1": 98.0, "BLK-1": 40.0}


def store_readings(store: Any, lot_id: str, line: str, at: Any, readings: list[tuple[str, str, dict[str, Any]]]
                   ) -> None:
    """The lot's raw readings as an agent sends them: (device, kind, data)."""
    topic = ParsedTopic(site="plant-a", line=line, agent=f"agent-{line}", kind=Kind.READING)
    body = [{"device": dev, "device_seq": i, "ts": at + timedelta(seconds=i), "kind": kind, "lot_id": lot_id,
             "data": data} for i, (dev, kind, data) in enumerate(readings)]
    store.commit_batch([Incoming(topic, ReadingMessage.model_validate(
        {"msg_id": new_id(), "agent": topic.agent, "session": new_id(), "seq": 1, "sent_at": at,
         "body": {"readings": body}}))], [], [])


# MIX-1's readings: one XRF analyser, one NIR (the DTE may name a device only for the values it produced)
MIX_READINGS: list[tuple[str, str, dict[str, Any]]] = [
    ("xrf-1", "xrf", {"elements": {"Br": {"ppm": 41.0, "error": 2.0}}}),
    ("nir-1", "nir_object", {"polymer": "HIPS", "size_mm": 20.0}),
    ("xrf-1", "xrf", {"elements": {"Cd": {"ppm": None, "below_lod": True}}})]


def build_truth_plant(store: Any) -> dict[str, Any]:
    """plant.py's story plus the scenario lots, and a buyer spec with the regulatory defaults as of AS_OF."""
    world = build_plant(store)
    db = store.db
    t = T0 + timedelta(days=3)
    for i, lot in enumerate(LOTS):
        inputs: list[dict[str, Any]] = []
        for src, (stream, consumer, kg) in lot.sources.items():
            record_intake(db, IntakeIn.model_validate(
                {"lot_id": src, "plant": "Plant A", "site": "plant-a", "received_at": t, "source_stream": stream,
                 "consumer": consumer, "net_mass_kg": kg}))
            inputs.append({"lot_id": src, "mass_kg": kg})
        total = sum(float(x["mass_kg"]) for x in inputs)
        out = OUTPUT_KG[lot.lot_id]
        reject = 0.0 if lot.blocked else round(total - out - 1.0, 6)
        outputs: list[dict[str, Any]] = [{"lot_id": lot.lot_id, "mass_kg": out, "role": "product"}]
        if reject > 0:
            outputs.append({"lot_id": f"{lot.lot_id}-REJ", "mass_kg": reject, "role": "reject"})
        start = t + timedelta(hours=2 * i)
        record_step(db, StepIn.model_validate(
            {"step_id": f"SRT-{lot.lot_id}", "kind": "sorting", "plant": "Plant A", "started_at": start,
             "ended_at": start + timedelta(hours=1), "inputs": inputs, "outputs": outputs,
             "losses": [] if lot.blocked else [{"kind": "fines", "mass_kg": 1.0}]}))
        store_lot(store, lot.lot_id, out, MEASUREMENTS[lot.lot_id], [], start, line=f"line-{i + 2}")
        if lot.lot_id == "MIX-1":
            store_readings(store, lot.lot_id, f"line-{i + 2}", start, MIX_READINGS)
    save_spec(db, RequirementSpec(spec_id="buyer-1", buyer="Car Parts Co", material="HIPS", min_purity=0.7,
                                  as_of=AS_OF))
    world["store"] = store
    return world


# --- truth from the store's rows -------------------------------------------------------------------------------

def stored_measurement(db: Any, lot_id: str) -> dict[str, Any]:
    row = db.one("SELECT measurement FROM lots WHERE lot_id = ?", [lot_id])
    assert row is not None, lot_id
    return dict(json.loads(row["measurement"]))


def source_split(db: Any, lot_id: str) -> dict[str, float]:
    """Shares of the lot's input-attributed source mass by origin class, from one sorting step's flows."""
    step = db.one("SELECT step_id FROM process_flows WHERE lot_id = ? AND direction = 'out'", [lot_id])
    flows = db.rows("SELECT f.mass_kg, i.source_stream, i.consumer FROM process_flows f JOIN intake_lots i "
                    "ON i.lot_id = f.lot_id WHERE f.step_id = ? AND f.direction = 'in'", [step["step_id"]])
    total = sum(f["mass_kg"] for f in flows)
    split = {"post": 0.0, "elv": 0.0, "pre": 0.0}
    for f in flows:
        key = "pre" if f["consumer"] == "pre_consumer" else ("elv" if f["source_stream"] == "elv" else "post")
        split[key] += f["mass_kg"] / total
    return split


def input_mass(db: Any, lot_id: str) -> float:
    """Input mass attributed to the lot: the step's inputs x lot output / step output."""
    step = db.one("SELECT step_id, input_mass_kg, output_mass_kg FROM process_steps WHERE step_id = "
                  "(SELECT step_id FROM process_flows WHERE lot_id = ? AND direction = 'out')", [lot_id])
    out = db.scalar("SELECT mass_kg FROM process_flows WHERE lot_id = ? AND direction = 'out'", [lot_id])
    return float(step["input_mass_kg"]) * float(out) / float(step["output_mass_kg"])


BR_SCREENING_CUTOFF = 2000.0  # standards.md §6: WEEE BFR sort on total Br (CLC/TS 50625-3-1)
POP_BFR_CAS = ("1163-19-5", "32534-81-9", "32536-52-0", "40088-47-9", "59536-65-1")  # PBDEs, PBB


def pops_suspect_in_store(db: Any, lot_id: str) -> bool:
    """POPs-suspect: Br max above the cut-off or a PBDE/PBB declared by a source product, and no lab row."""
    br = stored_measurement(db, lot_id).get("contaminants", {}).get("Br") or {}
    hot = (br.get("max_ppm") or 0.0) > BR_SCREENING_CUTOFF
    declared = db.scalar(
        "SELECT COUNT(*) FROM process_flows o JOIN process_flows i ON i.step_id = o.step_id AND i.direction = 'in' "
        "JOIN intake_products p ON p.lot_id = i.lot_id JOIN comp_substances s ON s.product_id = p.product_id "
        f"WHERE o.lot_id = ? AND o.direction = 'out' AND s.cas IN ({','.join('?' * len(POP_BFR_CAS))})",
        [lot_id, *POP_BFR_CAS])
    lab = db.scalar("SELECT COUNT(*) FROM lab_confirmations WHERE lot_id = ?", [lot_id])
    return bool((hot or declared) and not lab)


def blocked_in_store(db: Any, lot_id: str) -> bool:
    """An uncleared balance alarm on the lot's step blocks its claims, and so does a POPs-suspect screening."""
    step = db.scalar("SELECT step_id FROM process_flows WHERE lot_id = ? AND direction = 'out'", [lot_id])
    alarm = bool(db.scalar("SELECT COUNT(*) FROM balance_alarms WHERE ref = ? AND cleared_at IS NULL", [step]))
    return alarm or pops_suspect_in_store(db, lot_id)


def all_below_lod(entry: dict[str, Any]) -> bool:
    return bool(entry["n"]) and entry["n_below_lod"] >= entry["n"]


# --- counting ---------------------------------------------------------------------------------------------------

@dataclass
class Tally:
    """Fields compared and the mismatches found, for the one-line summary per format (issue note)."""

    fmt: str
    checked: int = 0
    mismatches: list[str] = field(default_factory=list)

    def eq(self, where: str, got: Any, want: Any, tol: float = 1e-6) -> None:
        self.checked += 1
        same = (abs(float(got) - float(want)) <= tol * max(1.0, abs(float(want)))
                if isinstance(want, float) and isinstance(got, int | float) and not isinstance(got, bool)
                else got == want)
        if not same:
            self.mismatches.append(f"{where}: exported {got!r}, store says {want!r}")

    def true(self, where: str, condition: bool) -> None:
        self.eq(where, bool(condition), True)

    def summary(self) -> str:
        return f"{self.fmt}: {self.checked} fields checked, {len(self.mismatches)} mismatches"
