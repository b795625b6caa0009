"""Lots of a scenario as plans: containers, sensor events in scenario time, and truth (seeded, pure)."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from simulators.plantline.model import (
    ELEMENTS,
    EMPTY_S,
    GAP_S,
    PLACE_S,
    REMOVE_S,
    SETTLE_S,
    SHAPE_FACTOR,
    ContainerPlan,
    Event,
    LineModel,
    LotPlan,
    _truth,
)
from simulators.plantline.schema import Scenario

DEVICES = {"scale": "scale-out", "qc_nir": "qc-nir", "sorter": "nir-sorter", "xrf": "xrf", "camera": "cam-out",
           "ident": "cam-ident"}


def container_wall_s(scenario: Scenario) -> float:
    """Wall time of one container cycle on the platform."""
    return PLACE_S + SETTLE_S + scenario.lots.fill_s / scenario.speed + SETTLE_S + REMOVE_S + EMPTY_S


def plan_lots(scenario: Scenario, seed: int, n_lots: int) -> list[LotPlan]:
    """The first ``n_lots`` lots of a run; times are scenario seconds (wall = scenario / speed)."""
    model = LineModel(scenario, seed)
    rng, sp = model.rng, scenario.speed
    weights = np.array([b.weight for b in scenario.batches])
    t = 0.0
    plans = []
    for lot_no in range(1, n_lots + 1):
        batch = scenario.batches[int(rng.choice(len(weights), p=weights / weights.sum()))].products
        start = t
        t += GAP_S * sp
        containers: list[ContainerPlan] = []
        events: list[Event] = []
        parts: list[dict[str, np.ndarray]] = []
        models: list[str] = []
        flows: list[dict[str, Any]] = []
        for _ in range(int(rng.integers(scenario.lots.containers[0], scenario.lots.containers[1] + 1))):
            sorter: dict[str, Any] = {"counts": {}, "ejected": 0}
            fill = float(rng.uniform(*scenario.lots.fill_kg))
            n_models = len(models)
            a = model.container(batch, fill, models, sorter)
            flows += _product_flows(models, n_models, sorter, a)
            t += (PLACE_S + SETTLE_S) * sp
            c = ContainerPlan(round(float(rng.uniform(*scenario.lots.tare_kg)), 3),
                              round(float(a["mass"].sum()) / 1000, 3), t, t + scenario.lots.fill_s)
            events += _events(model, scenario, a, c, sorter, models[n_models:])
            containers.append(c)
            parts.append(a)
            t = c.fill_end + (SETTLE_S + REMOVE_S + EMPTY_S) * sp
        t += (EMPTY_S + GAP_S) * sp
        merged = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        truth = _truth(model, merged, models)
        truth["containers"] = [{"tare_kg": c.tare_kg, "net_kg": c.net_kg} for c in containers]
        truth["net_mass_kg"] = round(sum(c.net_kg for c in containers), 3)
        events = _apply_faults(scenario, sorted(events, key=lambda e: e.t))
        plans.append(LotPlan(lot_no, start, t, containers, events, truth, flows))
    return plans


def _product_flows(models: list[str], first: int, sorter: dict[str, Any], a: dict[str, np.ndarray]
                   ) -> list[dict[str, Any]]:
    """Per product of one container: plastic part mass, flakes made, flakes ejected, flakes in the container."""
    in_box = np.bincount(a["prod"].astype(int), weights=a["mass"], minlength=len(models)) / 1000
    flows = {i: {"model": models[i], "parts_kg": 0.0, "flakes_kg": 0.0, "ejected_kg": 0.0,
                 "in_container_kg": float(in_box[i])} for i in range(first, len(models))}
    for prod, part_kg, flakes_kg, ejected_kg in sorter.get("parts", []):
        f = flows[prod]
        f["parts_kg"] += part_kg
        f["flakes_kg"] += flakes_kg
        f["ejected_kg"] += ejected_kg
    return list(flows.values())


def _events(model: LineModel, s: Scenario, a: dict[str, np.ndarray], c: ContainerPlan,
            sorter: dict[str, Any], models: list[str]) -> list[Event]:
    rng, sens = model.rng, s.sensors
    n = len(a["mass"])
    when = np.sort(rng.uniform(c.fill_start, c.fill_end, n))
    order = rng.permutation(n)  # flakes arrive in random order over the filling
    events: list[Event] = []
    # QC NIR on the output belt: a share of the flakes, own small confusion, black = unknown.
    seen = np.flatnonzero(rng.random(n) < sens.qc_observe_share)
    k = len(model.polymers)
    for j in seen:
        i = order[j]
        if a["dark"][i]:
            polymer, conf = "unknown", 0.0
        elif rng.random() < sens.qc_accuracy or k == 1:
            polymer, conf = model.polymers[int(a["poly"][i])], 0.97
        else:
            others = [p for q, p in enumerate(model.polymers) if q != int(a["poly"][i])]
            polymer, conf = others[int(rng.integers(len(others)))], 0.6
        size = float(a["size"][i] * (1 + rng.normal(0, 0.03)))
        events.append(Event(float(when[j]), "qc_nir", "nir_object",
                            {"polymer": polymer, "confidence": conf, "size_mm": round(size, 1)}))
    # XRF spot checks of output flakes.
    for j in rng.choice(n, size=min(n, sens.xrf_per_container), replace=False):
        i = order[j]
        elements = {}
        for el in ELEMENTS:
            lod = sens.xrf_lod_ppm.get(el, 10.0)
            err = max(lod / 3, float(a[el][i]) * sens.xrf_rel_error)
            value = float(a[el][i]) + rng.normal(0, err)
            below = value < lod
            elements[el] = {"ppm": None if below else round(value, 1), "error": round(err, 2), "sigma": 1,
                            "below_lod": bool(below)}
        events.append(Event(float(when[j]), "xrf", "xrf", {"reading_no": int(j), "elements": elements}))
    # Camera over the output belt: every flake, per interval.
    edges = np.arange(c.fill_start, c.fill_end + sens.camera_interval_s, sens.camera_interval_s)
    area = SHAPE_FACTOR * a["size"][order] ** 2
    dark = a["dark"][order].astype(bool)
    for lo, hi in itertools.pairwise(edges):
        m = (when >= lo) & (when < hi)
        cnt = int(m.sum())
        ar = float(area[m].sum())
        events.append(Event(float(hi), "camera", "conveyor", {
            "count": cnt, "occupancy_pct": round(min(100.0, ar / (1000 * 2500 * (hi - lo)) * 100), 3),
            "dark_count_share": round(float(dark[m].sum()) / cnt, 4) if cnt else 0.0,
            "dark_area_share": round(float(area[m & dark].sum()) / ar, 4) if ar else 0.0,
            "interval_s": round(float(hi - lo), 3)}))
        share = (hi - lo) / (c.fill_end - c.fill_start)
        events.append(Event(float(hi), "sorter", "nir_counts", {
            "interval_s": round(float(hi - lo), 3), "running": True, "belt_speed_m_s": 2.5,
            "counts": {p: int(v * share) for p, v in sorter["counts"].items()},
            "ejections": {"target": int(sorter["ejected"] * share)}, "alarms": []}))
    # Ident camera at dismantling: product models read off the rating plate.
    for k_, m_ in enumerate(models):
        if rng.random() < sens.ident_read_rate:
            t = c.fill_start + (k_ + 0.5) / len(models) * (c.fill_end - c.fill_start)
            events.append(Event(t, "ident", "ident", {"model_candidates": [{"model": m_, "confidence": 0.9}]}))
    return events


def _apply_faults(s: Scenario, events: list[Event]) -> list[Event]:
    f = s.faults
    out = []
    for e in events:
        if f.nir_outage and e.device in ("qc_nir", "sorter") and f.nir_outage[0] <= e.t < f.nir_outage[1]:
            continue
        if f.camera_blackout and e.device == "camera" and f.camera_blackout[0] <= e.t < f.camera_blackout[1]:
            continue
        out.append(e)
    return out
