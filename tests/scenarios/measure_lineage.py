"""Measure the traceability of a scenario run: per closed lot, origin status, lineage mass vs the lot's mass,
step balances and (TV) the declared decaBDE share against the line model's own product masses.

    python -m tests.scenarios.measure_lineage WORKDIR SCENARIO SEED   # WORKDIR from `junkan sim scenario`
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from gateway.evidence.build import build_evidence
from gateway.store.sqlite import SqliteStore
from simulators.plantline.mes import product_flows
from simulators.plantline.plan import plan_lots
from simulators.plantline.schema import load_scenario


def measure(work: Path, name: str, seed: int) -> dict[str, Any]:
    scenario = load_scenario(name)
    truth = [json.loads(x) for x in (work / "truth.jsonl").read_text().splitlines()]
    plans = {f"{scenario.line}-S{seed:03d}-{p.lot_no:04d}": p for p in plan_lots(scenario, seed, len(truth))}
    store = SqliteStore(work / "gateway.db")
    db = store.db
    rows = []
    for t in truth:
        ev = build_evidence(store, db, t["lot_id"]).as_json()
        flows = product_flows(scenario, seed, plans[t["lot_id"]])
        crt = sum(f["product_kg"] for f in flows if f["category"] == "crt_tv") / sum(f["product_kg"] for f in flows)
        deca = [s["source_share"] for s in ev["declared_substances"]["substances"] if s["cas"] == "1163-19-5"]
        steps = ev["mass_balance"]["steps"]
        rows.append({
            "lot_id": t["lot_id"], "origin": ev["origin"]["status"], "n_models": len(ev["origin"]["models"]),
            "lot_mass_err_pct": round((ev["lot"]["net_mass_kg"] / t["net_mass_kg"] - 1) * 100, 4),
            "source_over_lot": round(ev["mass_balance"]["source_input_mass_kg"] / ev["lot"]["net_mass_kg"], 5),
            "balance_ok": ev["mass_balance"]["ok"],
            "max_unaccounted_pct": round(max(abs(s["input_mass_kg"] - s["output_mass_kg"] - s["declared_loss_kg"])
                                             / s["input_mass_kg"] * 100 for s in steps), 4) if steps else None,
            "decabde_share": deca[0] if deca else 0.0, "crt_mass_share_truth": round(crt, 6),
            "models_without_record": ev["declared_substances"].get("models_without_record"),
        })
    return {"lots": rows, "traced": sum(r["origin"] == "traced" for r in rows), "n": len(rows)}


if __name__ == "__main__":
    print(json.dumps(measure(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])), indent=1))
