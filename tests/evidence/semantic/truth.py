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
ISO_SYMBOL = {"PP": "PP", "HIPS": "PS-HI", "ABS": "ABS", "PC/ABS": "PC+ABS", "PE": "PE", "PMMA": "PMMA", "PC": "PC",
              "PS": "PS", "PA": "PA", "PVC": "PVC", "PET": "PET", "POM": "POM", "EPDM": "EPDM", "PU": "PUR"}
# (standard, VDA 231-106 class) where not (ISO 1043-1, 5.1 thermoplastics): rubbers per ISO 1629 are elastomers
NAME_STANDARD = {"EPDM": ("1629", "5.3"), "PU": ("1043-1", "5.4")}
ELEMENT_CAS = {"Br": "7726-95-6", "Cd": "7440-43-9", "Pb": "7439-92-1", "Hg": "7439-97-6", "Cr": "7440-47-3",
               "Sb": "7440-36-0", "Cl": "7782-50-5"}
ROHS_ELI, POPS_ELI = "http://data.europa.eu/eli/dir/2011/65/oj", "http://data.europa.eu/eli/reg/2019/1021/oj"
ROHS_LIMIT = {"Pb": 1000.0, "Hg": 1000.0, "CrVI": 1000.0, "PBB": 1000.0, "Cd": 100.0}
POPS_PBDE_LIMIT = 350.0  # articles from recovered material, 2025-12-30 .. 2027-12-29 (Delegated Reg. 2025/1482)
AS_OF = date(2026, 3, 1)
# Br mass fractions of the Br-poorest congeners (regulation.md §4), from the IUPAC standard atomic weights
# (C 12.011, H 1.008, O 15.999, Br 79.904), unrounded: a rounded fraction makes the upper bounds low
TETRA_BDE_BR = 4 * 79.904 / (12 * 12.011 + 6 * 1.008 + 4 * 79.904 + 15.999)  # C12H6Br4O, the POPs PBDE
MONO_BDE_BR = 79.904 / (12 * 12.011 + 9 * 1.008 + 79.904 + 15.999)  # C12H9BrO (RoHS counts mono- to decaBDE)
MONO_BB_BR = 79.904 / (12 * 12.011 + 9 * 1.008 + 79.904)  # C12H9Br, the Br-poorest PBB
POPS_PBDE_GROUPS = ("tetraBDE", "pentaBDE", "hexaBDE", "heptaBDE", "decaBDE")  # EU POPs Annex I


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
    blocked: bool  # by a balance alarm or the POPs screening (Br above 2000 mg/kg)
    sources: dict[str, tuple[str, str, float]] = field(default_factory=dict)  # intake lot -> (stream, consumer, kg)
    breaks_balance: bool = False  # its step loses mass it does not declare


CLEAN = {"Pb": _xrf(400, 400, 10.0), "Hg": _xrf(400, 400, 5.0), "Cd": _xrf(400, 400, 8.0),
         "Cr": _xrf(400, 400, 15.0)}
LOTS = [
    # 75/25 HIPS/ABS mixture; every RoHS element below LOD (Cd 8, Hg 5, total Cr 15 = the Cr(VI) upper bound)
    Lot("MIX-1", False, {"IN-MIX-W": ("weee", "post_consumer", 70.0), "IN-MIX-E": ("elv", "post_consumer", 30.0)}),
    # Br screening far above what can exclude PBDE: the PBDE value is an upper bound from Br, not a measurement
    Lot("PBDE-1", True, {"IN-PBDE": ("weee", "post_consumer", 50.0)}),
    # 40 % pre-consumer blend (recycled, not primary), partly detected Pb
    Lot("PRE-1", False, {"IN-PRE": ("other", "pre_consumer", 40.0), "IN-POST": ("weee", "post_consumer", 60.0)}),
    # a step that loses 10 kg it does not declare: balance alarm, claims blocked
    Lot("BLK-1", True, {"IN-BLK": ("weee", "post_consumer", 50.0)}, breaks_balance=True),
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
        reject = 0.0 if lot.breaks_balance else round(total - out - 1.0, 6)
        outputs: list[dict[str, Any]] = [{"lot_id": lot.lot_id, "mass_kg": out, "role": "product"}]
        if reject > 0:
            outputs.append({"lot_id": f"{lot.lot_id}-REJ", "mass_kg": reject, "role": "reject"})
        start = t + timedelta(hours=2 * i)
        record_step(db, StepIn.model_validate(
            {"step_id": f"SRT-{lot.lot_id}", "kind": "sorting", "plant": "Plant A", "started_at": start,
             "ended_at": start + timedelta(hours=1), "inputs": inputs, "outputs": outputs,
             "losses": [] if lot.breaks_balance else [{"kind": "fines", "mass_kg": 1.0}]}))
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


def attributed_sources(db: Any, lot_id: str, kg: float | None = None) -> dict[str, float]:
    """Source lot -> input-attributed kg (docs/evidence.md: an output ``o`` of a step with output ``O`` takes
    ``in_i x o / O`` of each input, recursively), from process_steps / process_flows only."""
    step = db.one("SELECT s.step_id, s.output_mass_kg, f.mass_kg FROM process_flows f JOIN process_steps s ON "
                  "s.step_id = f.step_id WHERE f.lot_id = ? AND f.direction = 'out'", [lot_id])
    if step is None:
        return {lot_id: kg if kg is not None else lot_mass(db, lot_id)}
    kg = float(step["mass_kg"]) if kg is None else kg
    out: dict[str, float] = {}
    for flow in db.rows("SELECT lot_id, mass_kg FROM process_flows WHERE step_id = ? AND direction = 'in'",
                        [step["step_id"]]):
        for src, part in attributed_sources(db, flow["lot_id"], flow["mass_kg"] * kg / step["output_mass_kg"]
                                            ).items():
            out[src] = out.get(src, 0.0) + part
    return out


def lineage_steps(db: Any, lot_id: str) -> set[str]:
    step = db.scalar("SELECT step_id FROM process_flows WHERE lot_id = ? AND direction = 'out'", [lot_id])
    if step is None:
        return set()
    inputs = db.rows("SELECT lot_id FROM process_flows WHERE step_id = ? AND direction = 'in'", [step])
    return {step}.union(*(lineage_steps(db, f["lot_id"]) for f in inputs))


def lot_mass(db: Any, lot_id: str) -> float:
    """The lot's mass: its output flow when a step made it, else as weighed."""
    out = db.scalar("SELECT mass_kg FROM process_flows WHERE lot_id = ? AND direction = 'out'", [lot_id])
    return float(out if out is not None else db.scalar("SELECT net_mass_kg FROM lots WHERE lot_id = ?", [lot_id]))


def source_split(db: Any, lot_id: str) -> dict[str, float]:
    """Shares of the lot's input-attributed source mass by origin class (post / elv / pre / unknown)."""
    sources = attributed_sources(db, lot_id)
    total = sum(sources.values())
    split = {"post": 0.0, "elv": 0.0, "pre": 0.0, "unknown": 0.0}
    for src, kg in sources.items():
        row = db.one("SELECT source_stream, consumer FROM intake_lots WHERE lot_id = ?", [src])
        key = ("unknown" if row is None else "pre" if row["consumer"] == "pre_consumer" else
               "elv" if row["source_stream"] == "elv" else "post")
        split[key] += kg / total
    return split


def input_mass(db: Any, lot_id: str) -> float:
    return sum(attributed_sources(db, lot_id).values())


BR_SCREENING_CUTOFF = 2000.0  # standards.md §6: WEEE BFR sort on total Br (CLC/TS 50625-3-1)
# PBDEs (deca, octa, penta, tetra), PBB (hexa, deca), HBCDD: the regulated BFRs (regulation.md §2-3)
POP_BFR_CAS = ("1163-19-5", "32536-52-0", "32534-81-9", "40088-47-9", "59536-65-1", "13654-09-6", "25637-99-4",
               "3194-55-6")
_POLYMER_WORD = ("PP", "PE", "PS", "HIPS", "ABS", "PC", "PA", "PVC", "PET", "PBT", "PMMA", "POM", "PPE", "SAN", "TPE")


def _plastic_or_unstated(material_class: str | None, material: str | None) -> bool:
    text = f"{material_class or ''} {material or ''}".upper().replace("-", " ").replace("/", " ").split()
    return not text or any(word in _POLYMER_WORD for word in text)


def source_products(db: Any, lot_id: str) -> set[str]:
    """Products of the lot's source lots: by intake record, or matched / resolved camera identification."""
    return {r["product_id"] for src in attributed_sources(db, lot_id) for r in db.rows(
        "SELECT product_id FROM intake_products WHERE lot_id = ? AND product_id IS NOT NULL UNION SELECT product_id "
        "FROM ident_matches WHERE lot_id = ? AND status IN ('matched', 'resolved') AND product_id IS NOT NULL",
        [src, src])}


def pops_suspect(db: Any, lot_id: str) -> bool:
    """issue 17 item 1: XRF Br max (the LOD when all below) above the 2,000 mg/kg screen, or a regulated BFR
    declared in a plastic (or unstated) part of a source product, and no lab confirmation for the lot."""
    br = stored_measurement(db, lot_id).get("contaminants", {}).get("Br")
    value = (br["max_ppm"] if br["max_ppm"] is not None else br["lod_ppm"] if all_below_lod(br) else None) if (
        br and br["n"]) else None
    declared = any(_plastic_or_unstated(r["material_class"], r["material"]) for p in source_products(db, lot_id)
                   for r in db.rows("SELECT material, material_class, cas FROM comp_substances WHERE product_id = ? "
                                    f"AND cas IN ({','.join('?' * len(POP_BFR_CAS))})", [p, *POP_BFR_CAS]))
    lab = db.scalar("SELECT COUNT(*) FROM lab_confirmations WHERE lot_id = ?", [lot_id])
    return bool(((value or 0.0) > BR_SCREENING_CUTOFF or declared) and not lab)


def blocked_in_store(db: Any, lot_id: str) -> bool:
    """Claims are blocked by an uncleared balance alarm on a step of the lineage, an untraced origin, or a
    POPs-suspect screening without a lab confirmation."""
    alarmed = any(db.scalar("SELECT COUNT(*) FROM balance_alarms WHERE ref = ? AND cleared_at IS NULL", [s])
                  for s in lineage_steps(db, lot_id))
    untraced = source_split(db, lot_id)["unknown"] >= 1.0 - 1e-9
    return alarmed or untraced or pops_suspect(db, lot_id)


def all_below_lod(entry: dict[str, Any]) -> bool:
    return bool(entry["n"]) and entry["n_below_lod"] >= entry["n"]


# --- counting ---------------------------------------------------------------------------------------------------

@dataclass
class Tally:
    """Fields compared and the mismatches found, for the one-line summary per format (issue note)."""

    fmt: str
    checked: int = 0
    mismatches: list[str] = field(default_factory=list)

    def eq(self, where: str, got: Any, want: Any, tol: float = 1e-6, atol: float = 0.0) -> None:
        """``got == want``; floats within ``tol`` (relative, at least absolute 1 x tol) or ``atol``."""
        self.checked += 1
        same = (abs(float(got) - float(want)) <= max(tol * max(1.0, abs(float(want))), atol)
                if isinstance(want, float) and isinstance(got, int | float) and not isinstance(got, bool)
                else got == want)
        if not same:
            self.mismatches.append(f"{where}: exported {got!r}, store says {want!r}")

    def true(self, where: str, condition: bool) -> None:
        self.eq(where, bool(condition), True)

    def summary(self) -> str:
        return f"{self.fmt}: {self.checked} fields checked, {len(self.mismatches)} mismatches"


def worlds(request: Any, world: str) -> tuple[dict[str, Any], list[str]]:
    """A built store and its lots: this suite's scenario lots, or the EPCIS suite's (conftest.build_scenarios:
    a multi-step mixed lot with five devices' readings, an untraced lot), their specs saved in the store."""
    if world == "truth":
        built = build_truth_plant(request.getfixturevalue("gateway_store"))
        assert [blocked_in_store(built["db"], lot.lot_id) for lot in LOTS] == [lot.blocked for lot in LOTS]
        return built, ["PP-OUT-1", *(lot.lot_id for lot in LOTS)]
    from tests.evidence.semantic.conftest import TRUTH

    built = request.getfixturevalue("scenarios")
    for entry in TRUTH.values():
        for spec in entry.get("specs", []):
            save_spec(built["db"], spec)
    return built, list(TRUTH)


def lab_upper_bounds(db: Any, lot_id: str) -> dict[str, float]:
    """From the lot's lab report (lab_confirmations.doc): the POPs PBDE sum and the PBB total with below-LOD
    results at their LOD (the newest report; empty without one)."""
    row = db.one("SELECT doc FROM lab_confirmations WHERE lot_id = ? ORDER BY analysed_on DESC, entered_at DESC",
                 [lot_id])
    if row is None:
        return {}
    results = {r["analyte"]: r for r in json.loads(row["doc"])["results"]}

    def hi(r: dict[str, Any]) -> float:
        return float(r["lod_mg_kg"] if r.get("below_lod") else r["value_mg_kg"])

    out = {}
    if all(g in results for g in POPS_PBDE_GROUPS):
        out["PBDE"] = sum(hi(results[g]) for g in POPS_PBDE_GROUPS)  # EU POPs: the five Annex I groups
    if "PBDE" in results:
        out["PBDE_all"] = hi(results["PBDE"])  # RoHS: all congeners, as the lab's total
    if "PBB" in results:
        out["PBB"] = hi(results["PBB"])
    return out


def spec_doc(db: Any, spec_id: str) -> dict[str, Any]:
    return dict(json.loads(db.scalar("SELECT doc FROM req_specs WHERE spec_id = ?", [spec_id])))
