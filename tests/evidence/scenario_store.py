"""A scenario's lots in a real gateway store, fast: the offline line model's measurements (the agent's own
measure() over the scenario's sensor events), the ident camera's reads on each output lot, the MES records
(intake, dismantling -> shredding -> sorting) and, optionally, the scenario's composition records.

The truth each lot was made from (``plan.truth``: mass-weighted element concentrations, product models)
comes back beside the lot id, so tests score the evidence against it, not against gateway code.
"""

from __future__ import annotations

import csv
from datetime import timedelta
from typing import Any

from gateway.composition.importer import import_path
from gateway.traceability.repo import record_intake, record_step
from junkan.core.traceability import IntakeIn, StepIn
from simulators.plantline.mes import composition_file, process_records
from simulators.plantline.offline import lot_id, run_offline
from simulators.plantline.plan import plan_lots
from simulators.plantline.schema import load_scenario
from tests.evidence.plant import T0, store_lot

POP_BFR_CAS = {"1163-19-5", "32534-81-9", "32536-52-0", "40088-47-9", "59536-65-1"}  # PBDEs, PBB (CARRY_OVER)


def bfr_models(name: str) -> set[str]:
    """Models whose composition record declares a PBDE/PBB, read from the scenario's CSV with csv only."""
    path = composition_file(load_scenario(name))
    if path is None:
        return set()
    with path.open(encoding="utf-8") as fh:
        return {r["model"] for r in csv.DictReader(fh) if r["cas"] in POP_BFR_CAS}


def record_scenario(store: Any, name: str, seed: int, n_lots: int, *, compositions: bool = True,
                    intake_products: dict[int, list[dict[str, Any]]] | None = None) -> list[dict[str, Any]]:
    """Store ``n_lots`` lots of scenario ``name``; ``intake_products`` replaces the intake record's products of
    the given lot numbers (a false intake record). Returns per lot: lot_id, truth, intake lot id."""
    scenario = load_scenario(name)
    path = composition_file(scenario)
    if compositions and path is not None:
        assert import_path(store.db, path)["status"] == "imported"
    truth, stored = run_offline(scenario, seed, n_lots)
    plans = {lot_id(scenario, seed, p.lot_no): p for p in plan_lots(scenario, seed, n_lots)}
    out = []
    for i, t in enumerate(truth):
        lid, plan = t["lot_id"], plans[t["lot_id"]]
        measurement = stored[lid]["measurement"]
        opened = T0 + timedelta(hours=2 * i)
        idents = [e.data for e in plan.events if e.kind == "ident"]
        store_lot(store, lid, stored[lid]["net_mass_kg"], measurement, idents, opened, line=scenario.line)
        lot = {"lot_id": lid, "net_mass_kg": stored[lid]["net_mass_kg"], "opened_at": opened.isoformat(),
               "closed_at": (opened + timedelta(minutes=30)).isoformat()}
        records = process_records(scenario, seed, plan, lot)
        for intake in records["intake"]:
            if intake_products and plan.lot_no in intake_products:
                intake = {**intake, "products": intake_products[plan.lot_no]}
            record_intake(store.db, IntakeIn.model_validate(intake))
        for step in records["steps"]:
            record_step(store.db, StepIn.model_validate(step))
        out.append({"lot_id": lid, "lot_no": plan.lot_no, "truth": t, "intake": records["intake"][0]["lot_id"]})
    return out
