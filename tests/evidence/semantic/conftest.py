"""Scenario lots with known truth for the semantic suites, in a real store (SQLite or ``--gateway-db=postgres``).

On top of the evidence fixture plant (``tests/evidence/plant.py``: PP-OUT-1 measured without stored readings,
a dismantling -> shredding -> sorting chain, a regeneration downstream) a second line adds:

- ``MIX-1``: a 75/25 HIPS/ABS lot (mixed polymers) out of ``IN-9`` (and ``IN-10``, received without a net
  mass) -> ``DIS-9`` dismantling -> ``SRT-9``
  sorting (a multi-step lot with dismantling and sorting), with the readings of five devices stored (scale,
  XRF, QC NIR, output camera, ident camera: the camera sorts first by name) and their drivers; its XRF
  screening has every censoring case: Br partly below LOD, Cd all below LOD, Pb partly below a LOD above
  every detect, Cr fully detected, Hg without readings; the XRF is flagged degraded (silent too long). Two
  purity specs: one passes, one fails.
- ``BLK-1``: measured, its own readings stored, but recorded nowhere in the process graph: untraced, so
  its recycled-content claims are blocked; a Hg limit it has no data for.

``TRUTH`` is what the scenario *is* (the numbers the test wrote into the store and the expected spec
outcomes), so the suites compare exports with it and with SQL on the store, never with exporter code.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from gateway.specs.model import Limit, RequirementSpec
from gateway.store.base import Incoming
from gateway.traceability.repo import record_intake, record_step
from junkan.core.ids import new_id
from junkan.core.messages import DeviceHealth, LotMessage, ReadingMessage, StatusMessage
from junkan.core.topics import Kind, ParsedTopic
from junkan.core.traceability import IntakeIn, StepIn
from tests.evidence.plant import T0, build_plant
from tests.measurements import wire_measurement

SITE, LINE, AGENT = "plant-a", "line-2", "agent-line-2"
SESSION = new_id()
# device -> (driver key, kinds of readings it stores for a lot)
DEVICES = {"cam-ident-2": ("camera", ["ident"]), "cam-out-2": ("camera", ["conveyor"]),
           "qc-nir-2": ("nir_spectrometer", ["nir_object"]), "scale-2": ("mt_sics", ["weighing"]),
           "xrf-2": ("vanta_csv", ["xrf"])}

CONTAMINANTS: dict[str, dict[str, Any]] = {
    "Br": {"n": 40, "n_below_lod": 30, "mean_ppm": 60.0, "p95_ppm": 150.0, "max_ppm": 300.0, "lod_ppm": 8.0,
           "mean_bounds_ppm": [55.0, 61.0], "method": "XRF (EDXRF, Kaplan-Meier)", "thresholds": {}},
    "Cd": {"n": 40, "n_below_lod": 40, "mean_ppm": None, "p95_ppm": None, "max_ppm": None, "lod_ppm": 6.0,
           "mean_bounds_ppm": None, "method": "XRF (EDXRF)", "thresholds": {}},
    "Pb": {"n": 40, "n_below_lod": 38, "mean_ppm": 3.1, "p95_ppm": None, "max_ppm": 9.0, "lod_ppm": 15.0,
           "mean_bounds_ppm": [0.4, 14.7], "method": "XRF (EDXRF, Kaplan-Meier)", "thresholds": {}},
    "Cr": {"n": 40, "n_below_lod": 0, "mean_ppm": 25.0, "p95_ppm": 40.0, "max_ppm": 55.0, "lod_ppm": None,
           "mean_bounds_ppm": [25.0, 25.0], "method": "XRF (EDXRF)", "thresholds": {}},
    "Hg": {"n": 0, "n_below_lod": 0, "mean_ppm": None, "p95_ppm": None, "max_ppm": None, "lod_ppm": None,
           "mean_bounds_ppm": None, "method": "XRF (EDXRF)", "thresholds": {}},
}

MIX_MEASUREMENT = wire_measurement(
    net_mass_kg=12.5,
    composition={"n_objects": 900,
                 "by_count": {"HIPS": {"n": 680, "share": 0.7556, "ci95": [0.726, 0.783]},
                              "ABS": {"n": 220, "share": 0.2444, "ci95": [0.217, 0.274]}},
                 "by_mass": {"HIPS": {"share": 0.75, "ci95": [0.72, 0.78]},
                             "ABS": {"share": 0.25, "ci95": [0.22, 0.28]}}},
    contaminants=CONTAMINANTS,
    devices={"contributed": sorted(DEVICES), "missing": [],
             "degraded": [{"device": "xrf-2", "reason": "silent 95 s during the lot (limit 60 s)"}]})

BLK_MEASUREMENT = wire_measurement(
    net_mass_kg=4.0,
    composition={"by_mass": {"PP": {"share": 1.0, "ci95": [0.97, 1.0]}}},
    contaminants={"Br": {"n": 12, "n_below_lod": 12, "mean_ppm": None, "p95_ppm": None, "max_ppm": None,
                         "lod_ppm": 5.0, "mean_bounds_ppm": None, "method": "XRF (EDXRF)", "thresholds": {}}},
    devices={"contributed": ["scale-2", "xrf-2"], "missing": [], "degraded": []})

HIPS_70 = RequirementSpec(spec_id="hips-70", buyer="Buyer H", material="HIPS", min_purity=0.70,
                          regulatory_defaults=False)
HIPS_80 = RequirementSpec(spec_id="hips-80", buyer="Buyer H", material="HIPS", min_purity=0.80,
                          regulatory_defaults=False)
PP_90 = RequirementSpec(spec_id="pp-90", buyer="Car Parts Co", material="PP", min_purity=0.90,
                        regulatory_defaults=False)
HG_LIMIT = RequirementSpec(spec_id="hg-100", buyer="Buyer B", material="PP", regulatory_defaults=False,
                           limits=[Limit(analyte="Hg", max_ppm=100.0, basis="max", source="buyer")])

# lot -> the specs it is judged against and each one's expected result (the scenario's truth: 0.72 >= 0.70,
# 0.78 < 0.80, PP lower bound 0.951 >= 0.90, no Hg reading at all)
# Screening and claims: PP-OUT-1's sources declare decaBDE in HIPS-FR covers but the plant's GC-MS result clears
# it (tests/evidence/plant.py); MIX-1's IN-9 is all AZ-32LX1 sets, decaBDE declared, no lab result: suspect and
# blocked; BLK-1 is clean (Br all below LOD 5) but untraced: blocked.
TRUTH: dict[str, dict[str, Any]] = {
    "PP-OUT-1": {"specs": [PP_90], "results": {"pp-90": "conformant"}, "claims_blocked": False,
                 "screening": "lab_confirmed"},
    "MIX-1": {"specs": [HIPS_70, HIPS_80], "results": {"hips-70": "conformant", "hips-80": "non_conformant"},
              "claims_blocked": True, "screening": "pops_suspect"},
    "BLK-1": {"specs": [HG_LIMIT], "results": {"hg-100": "insufficient_data"}, "claims_blocked": True,
              "screening": "clear"},
}


def _readings(lot_id: str, opened: Any, devices: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for device in devices:
        for kind in DEVICES[device][1]:
            for i in range(3):
                samples: dict[str, dict[str, Any]] = {
                    "ident": {"codes": [], "model_candidates": []},
                    "xrf": {"elements": {"Br": {"ppm": 40.0 + i, "error": 2.0}}},
                    "nir_object": {"polymer": "HIPS", "size_mm": 20.0},
                    "conveyor": {"count": 10, "interval_s": 1}, "weighing": {"net_kg": 4.0}}
                data = samples[kind]
                out.append({"device": device, "device_seq": len(out), "ts": opened + timedelta(seconds=len(out)),
                            "kind": kind, "lot_id": lot_id, "data": data,
                            **({"value": 4.0, "unit": "kg", "status": "ok"} if kind == "weighing" else {})})
    return out


def store_measured_lot(store: Any, lot_id: str, mass: float, measurement: dict[str, Any], devices: list[str],
                       opened: Any) -> None:
    """A closed lot on line-2 with its measurement, the readings of ``devices`` and their drivers."""
    topic = ParsedTopic(site=SITE, line=LINE, agent=AGENT, kind=Kind.READING)

    def envelope(seq: int) -> dict[str, Any]:
        return {"msg_id": new_id(), "agent": AGENT, "session": SESSION, "seq": seq, "sent_at": opened}

    seq = int(opened.timestamp()) % 100_000 * 10
    lot = {"lot_id": lot_id, "site": SITE, "line": LINE, "agent": AGENT, "status": "closed", "opened_at": opened,
           "closed_at": opened + timedelta(minutes=20), "close_reason": "operator", "net_mass_kg": mass,
           "n_weighings": 3, "devices": devices, "measurement": measurement}
    incoming = [Incoming(topic, ReadingMessage.model_validate({**envelope(seq + 1),
                                                               "body": {"readings": _readings(lot_id, opened,
                                                                                              devices)}})),
                Incoming(ParsedTopic(site=SITE, line=LINE, agent=AGENT, kind=Kind.LOT),
                         LotMessage.model_validate({**envelope(seq + 2), "body": {"event": "closed", "lot": lot}}))]
    status = StatusMessage(agent=AGENT, site=SITE, line=LINE, session=SESSION, state="online", at=opened,
                           devices=[DeviceHealth(device=d, driver=DEVICES[d][0], state="alive") for d in DEVICES])
    store.commit_batch(incoming, [], [status])


def build_scenarios(store: Any) -> dict[str, Any]:
    world = build_plant(store)
    db = store.db
    t = T0 + timedelta(days=3)
    record_intake(db, IntakeIn(lot_id="IN-9", plant="Plant A", site=SITE, received_at=t, source_stream="weee",
                               net_mass_kg=50.0, products=[{"model": "AZ-32LX1", "n_items": 4}]))
    # step, kind, start hour, inputs, outputs (lot, kg, role), declared loss (kind, kg)
    # IN-10: received without a net mass (weighed only when fed to the dismantling)
    record_intake(db, IntakeIn(lot_id="IN-10", plant="Plant C", received_at=t, source_stream="weee"))
    chain = [("DIS-9", "dismantling", 1, [("IN-9", 50.0), ("IN-10", 5.0)],
              [("HOUS-9", 20.0, "product"), ("REST-9", 34.5, "residue")], ("dust", 0.5)),
             ("SRT-9", "sorting", 3, [("HOUS-9", 20.0)], [("MIX-1", 12.5, "product"), ("REJ-9", 7.3, "reject")],
              ("fines", 0.2))]
    for step_id, kind, hour, ins, outs, (loss, loss_kg) in chain:
        record_step(db, StepIn.model_validate({
            "step_id": step_id, "kind": kind, "plant": "Plant A", "site": SITE,
            "started_at": (t + timedelta(hours=hour)).isoformat(),
            "ended_at": (t + timedelta(hours=hour + 1)).isoformat(),
            "inputs": [{"lot_id": lot, "mass_kg": kg} for lot, kg in ins],
            "outputs": [{"lot_id": lot, "mass_kg": kg, "role": role} for lot, kg, role in outs],
            "losses": [{"kind": loss, "mass_kg": loss_kg}]}))
    store_measured_lot(store, "MIX-1", 12.5, MIX_MEASUREMENT, sorted(DEVICES), t + timedelta(hours=3))
    store_measured_lot(store, "BLK-1", 4.0, BLK_MEASUREMENT, ["scale-2", "xrf-2"], t + timedelta(hours=6))
    world["store"] = store
    return world


@pytest.fixture
def scenarios(gateway_store: Any) -> dict[str, Any]:
    return build_scenarios(gateway_store)


@pytest.fixture
def truth(gateway_store: Any) -> dict[str, Any]:
    """The UNTP / Catena-X / declaration suites' scenario lots (truth.py) on top of plant.py's story."""
    from tests.evidence.semantic.truth import build_truth_plant

    return build_truth_plant(gateway_store)
