"""The plant's MES for a scenario run: composition records imported, then per closed output lot its intake
lot and the dismantling -> shredding -> sorting steps recorded at the gateway through the REST API
(``/api/v1/composition/import``, ``/api/v1/process/intake``, ``/api/v1/process/steps``), as a real MES
integration would.

Masses come from the line model (what truly went in) and, for the output lot, from the gateway's stored
net mass (what the scale weighed). Per output lot ``L`` (docs/scenarios.md, "Process records"):

- intake ``L-IN``: the products that went through the line for this lot, by model, with product masses
  (the line model does not draw product masses, so they are drawn here from the scenario's range with a
  separate generator and never below the plastic parts' mass);
- dismantling ``L-IN`` -> ``L-REMOVED`` (parts removed by hand: ``dismantled_share`` of the product mass,
  at most what leaves the plastic parts) + ``L-SHRED-FEED``;
- shredding ``L-SHRED-FEED`` -> ``L-FLAKES`` (flakes of the plastic parts) + ``L-METALS-RESIDUE``
  (the rest of the feed, separated after the shredder); loss ``fines`` (part mass not turned into flakes);
- sorting ``L-FLAKES`` -> ``L`` (gateway net mass) + ``L-SORT-REJECTS``; loss ``chute overflow``
  (flakes ejected after the container was full, which the line model discards).

Each output carries its role: ``L``, ``L-SHRED-FEED`` and ``L-FLAKES`` are products, ``L-REMOVED`` and
``L-METALS-RESIDUE`` residues, ``L-SORT-REJECTS`` rejects (never counted as supplied recycled plastic).

Every balance closes on the model's own masses; the only unaccounted mass is the scale's error on ``L``.
"""

from __future__ import annotations

import json
import queue
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

from junkan.core.traceability import Flow, IntakeIn, Loss, ProductIn, StepIn
from simulators.plantline.compositions import COMPOSITION_DIR, source_stream
from simulators.plantline.model import LotPlan
from simulators.plantline.schema import Scenario

SITE, PLANT = "sim-plant", "junkan scenario plant"


def composition_file(scenario: Scenario) -> Path | None:
    path = COMPOSITION_DIR / f"{scenario.name}.csv"
    return path if path.exists() else None


def product_flows(scenario: Scenario, seed: int, plan: LotPlan) -> list[dict[str, Any]]:
    """Pure: per product of the lot, its mass through each step (kg), with category and stream."""
    specs = {m: p for p in scenario.products for m in p.models}
    rng = np.random.default_rng([seed, plan.lot_no, 0x3E5])
    out = []
    for f in plan.flows:
        spec = specs[f["model"]]
        product_kg = max(float(rng.uniform(*spec.mass_kg)), f["parts_kg"])
        removed = min(spec.dismantled_share * product_kg, product_kg - f["parts_kg"])
        out.append({**f, "category": spec.category, "stream": source_stream(spec.category),
                    "product_kg": product_kg, "removed_kg": removed, "feed_kg": product_kg - removed})
    return out


def _sum(rows: list[dict[str, Any]], key: str) -> float:
    return round(sum(r[key] for r in rows), 3)


def process_records(scenario: Scenario, seed: int, plan: LotPlan, lot: dict[str, Any]) -> dict[str, Any]:
    """Pure: intake and steps (validated models, JSON-ready) for one output lot as stored by the gateway
    (``lot_id``, ``net_mass_kg``, ``opened_at``, ``closed_at``). Same shape as ``junkan gateway process``."""
    lid = lot["lot_id"]
    flows = product_flows(scenario, seed, plan)
    by_model: dict[str, dict[str, Any]] = {}
    for f in flows:
        m = by_model.setdefault(f["model"], {"n_items": 0, "mass_kg": 0.0})
        m["n_items"] += 1
        m["mass_kg"] += f["product_kg"]
    streams = {f["stream"] for f in flows}
    ids = {k: f"{lid}-{k}" for k in ("IN", "REMOVED", "SHRED-FEED", "FLAKES", "METALS-RESIDUE", "SORT-REJECTS")}
    intake_kg, removed_kg, feed_kg = _sum(flows, "product_kg"), _sum(flows, "removed_kg"), _sum(flows, "feed_kg")
    parts_kg, flakes_kg = _sum(flows, "parts_kg"), _sum(flows, "flakes_kg")
    ejected_kg, in_box_kg = _sum(flows, "ejected_kg"), _sum(flows, "in_container_kg")
    t0, t1 = lot["opened_at"], lot["closed_at"]
    common = {"site": SITE, "plant": PLANT, "started_at": t0, "ended_at": t1}
    intake = IntakeIn(lot_id=ids["IN"], site=SITE, plant=PLANT, received_at=t0,
                      source_stream=streams.pop() if len(streams) == 1 else "other", net_mass_kg=intake_kg,
                      supplier=f"scenario {scenario.name} seed {seed}",
                      products=[ProductIn(model=k, n_items=v["n_items"], mass_kg=round(v["mass_kg"], 3))
                                for k, v in sorted(by_model.items())])
    steps = [
        StepIn(step_id=f"{lid}-dismantling", kind="dismantling", **common,
               inputs=[Flow(lot_id=ids["IN"], mass_kg=intake_kg)],
               outputs=[Flow(lot_id=ids["REMOVED"], mass_kg=removed_kg, role="residue"),
                        Flow(lot_id=ids["SHRED-FEED"], mass_kg=round(intake_kg - removed_kg, 3), role="product")],
               notes="hand dismantling: components removed, plastic-rich rest to the shredder"),
        StepIn(step_id=f"{lid}-shredding", kind="shredding", **common,
               inputs=[Flow(lot_id=ids["SHRED-FEED"], mass_kg=feed_kg)],
               outputs=[Flow(lot_id=ids["FLAKES"], mass_kg=flakes_kg, role="product"),
                        Flow(lot_id=ids["METALS-RESIDUE"], mass_kg=round(feed_kg - parts_kg, 3), role="residue")],
               losses=[Loss(kind="fines", mass_kg=round(parts_kg - flakes_kg, 3))],
               notes="shredder with magnet/eddy-current separation; plastic flakes to the NIR sorter"),
        StepIn(step_id=f"{lid}-sorting", kind="sorting", **common,
               inputs=[Flow(lot_id=ids["FLAKES"], mass_kg=flakes_kg)],
               outputs=[Flow(lot_id=lid, mass_kg=float(lot["net_mass_kg"]), role="product"),
                        Flow(lot_id=ids["SORT-REJECTS"], mass_kg=round(flakes_kg - ejected_kg, 3), role="reject")],
               losses=[Loss(kind="chute overflow", mass_kg=round(ejected_kg - in_box_kg, 3), weighed=False)],
               notes=f"NIR sorter ejecting {', '.join(scenario.sorter.target)} into the output containers"),
    ]
    return {"intake": [intake.model_dump(mode="json")], "steps": [s.model_dump(mode="json") for s in steps]}


class Mes:
    """Records each closed lot at the gateway from a worker thread, so the line's timing is not held up."""

    def __init__(self, api: str, scenario: Scenario, seed: int, workdir: Path, log: Any = print) -> None:
        self.api, self.scenario, self.seed, self.log = api, scenario, seed, log
        self.records_path = Path(workdir) / "process.jsonl"
        self.pending: queue.Queue[LotPlan | None] = queue.Queue()
        self.recorded: list[str] = []
        self.failed: dict[str, str] = {}
        self.thread = threading.Thread(target=self._work, name="mes", daemon=True)

    def _request(self, path: str, data: bytes, content_type: str = "application/json") -> Any:
        req = urllib.request.Request(self.api + path, data=data, method="POST", headers={"Content-Type": content_type})
        try:
            with urllib.request.urlopen(req, timeout=15) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"POST {path}: HTTP {exc.code}: {exc.read()[:500]!r}") from None

    def _get(self, path: str) -> Any:
        with urllib.request.urlopen(self.api + path, timeout=15) as resp:
            return json.loads(resp.read())

    def import_compositions(self) -> dict[str, Any] | None:
        """Import the scenario's composition records (before any intake, so intake products link to them)."""
        path = composition_file(self.scenario)
        if path is None:
            self.log(f"warning: no composition records for {self.scenario.name} in {COMPOSITION_DIR}")
            return None
        report: dict[str, Any] = self._request(f"/api/v1/composition/import?filename={path.name}", path.read_bytes(),
                                               "text/csv")
        self.log(f"composition records: {len(report.get('products', []))} products from {path.name}")
        return report

    def start(self) -> None:
        self.thread.start()

    def lot_closed(self, plan: LotPlan) -> None:
        self.pending.put(plan)

    def finish(self, timeout: float = 60.0) -> None:
        self.pending.put(None)
        self.thread.join(timeout)

    def _work(self) -> None:
        while (plan := self.pending.get()) is not None:
            lid = f"{self.scenario.line}-S{self.seed:03d}-{plan.lot_no:04d}"
            try:
                self._record(lid, plan)
                self.recorded.append(lid)
            except Exception as exc:  # one lot's records failing must not stop the others
                self.failed[lid] = str(exc)
                self.log(f"warning: process records for {lid} not stored: {exc}")

    def _record(self, lid: str, plan: LotPlan, wait_s: float = 60.0) -> None:
        import time

        deadline = time.monotonic() + wait_s
        while True:  # the lot's close travels agent -> broker -> gateway; wait for its weighed mass
            try:
                lot = self._get(f"/api/v1/lots/{lid}")
            except urllib.error.HTTPError:
                lot = {}
            if lot.get("status") == "closed" and lot.get("net_mass_kg") is not None:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"lot {lid} not closed with a mass at the gateway after {wait_s:.0f} s")
            time.sleep(0.3)
        records = process_records(self.scenario, self.seed, plan, lot)
        for intake in records["intake"]:
            self._request("/api/v1/process/intake", json.dumps(intake).encode())
        for step in records["steps"]:
            result = self._request("/api/v1/process/steps", json.dumps(step).encode())
            if not result["balance"]["ok"]:
                self.log(f"warning: step {step['step_id']} balance: {result['balance']['reason']}")
        with self.records_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({"lot_id": lid, **records}) + "\n")
        self.log(f"lot {lid}: intake + {len(records['steps'])} steps recorded")
