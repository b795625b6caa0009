"""What each live device contributed to each closed lot of a scenario run, against what the plan gave it.

    python -m tests.scenarios.measure_live WORKDIR SCENARIO SEED   # WORKDIR from `junkan sim scenario`

Per lot: ident readings and models read vs plates shown (the plan's read products); conveyor-camera objects
counted and dark share vs flakes shown; sorter counts vs the plan's counts; the lot's device summary.
Device timing moves a few readings across lot boundaries, so counts are compared, not required equal.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from simulators.plantline.plan import DEVICES, plan_lots
from simulators.plantline.schema import load_scenario


def measure(work: Path, name: str, seed: int) -> dict[str, Any]:
    scenario = load_scenario(name)
    truth = [json.loads(x) for x in (work / "truth.jsonl").read_text().splitlines()]
    plans = {f"{scenario.line}-S{seed:03d}-{p.lot_no:04d}": p for p in plan_lots(scenario, seed, len(truth))}
    db = sqlite3.connect(f"file:{work / 'gateway.db'}?mode=ro", uri=True)
    rows = []
    for t in truth:
        lid, plan = t["lot_id"], plans[t["lot_id"]]
        readings = [(d, k, json.loads(x or "{}")) for d, k, x in
                    db.execute("SELECT device, kind, data FROM readings WHERE lot_id = ?", (lid,))]
        lot = db.execute("SELECT measurement FROM lots WHERE lot_id = ?", (lid,)).fetchone()
        m = json.loads(lot[0]) if lot and lot[0] else {}
        planned_models = Counter(e.data["model_candidates"][0]["model"] for e in plan.events if e.device == "ident")
        read_models: Counter[str] = Counter()
        for d, k, x in readings:
            if d == DEVICES["ident"] and k == "ident" and x.get("model_candidates"):
                read_models[x["model_candidates"][0]["model"]] += 1
        shown = [f for e in plan.events if e.device == "camera" for f in e.sim.get("flakes", [])]
        conv = [x for d, k, x in readings if d == DEVICES["camera"] and k == "conveyor"]
        counted = sum(x["count"] for x in conv)
        dark = sum(x["count"] * x["dark_count_share"] for x in conv)
        plan_counts = sum(sum(e.data["counts"].values()) for e in plan.events if e.device == "sorter")
        sorter = sum(sum(x["counts"].values()) for d, k, x in readings if d == DEVICES["sorter"] and k == "nir_counts")
        devices = m.get("devices") or {}
        rows.append({
            "lot_id": lid,
            "plates_shown": sum(planned_models.values()), "idents_read": sum(read_models.values()),
            "models_wrong": sum((read_models - planned_models).values()),
            "flakes_shown": len(shown), "dark_shown": sum(1 for f in shown if f[2]),
            "camera_counted": counted, "camera_dark": round(dark), "camera_readings": len(conv),
            "true_dark_count_share": t["dark_count_share"],
            "sorter_counts_plan": plan_counts, "sorter_counts_read": sorter,
            "sorter_readings": sum(1 for d, k, _ in readings if d == DEVICES["sorter"]),
            "contributed": devices.get("contributed"), "missing": devices.get("missing"),
            "degraded": [f"{d['device']}: {d['reason']}" for d in devices.get("degraded", [])],
            "thickness_source": sorted({v["source"] for v in ((m.get("composition") or {}).get("thickness") or {})
                                        .values()}),
        })
    return {"lots": rows, "idents_read": sum(r["idents_read"] for r in rows),
            "plates_shown": sum(r["plates_shown"] for r in rows),
            "models_wrong": sum(r["models_wrong"] for r in rows),
            "camera_counted": sum(r["camera_counted"] for r in rows),
            "flakes_shown": sum(r["flakes_shown"] for r in rows)}


if __name__ == "__main__":
    print(json.dumps(measure(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])), indent=1))
