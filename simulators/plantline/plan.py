"""Lots of a scenario as plans: containers, sensor events in scenario time, and truth (seeded, pure)."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from junkan.core.measurement import MeasurementParams
from simulators.plantline.model import (
    ELEMENTS,
    EMPTY_S,
    GAP_S,
    MAX_GAP_WALL_S,
    PLACE_S,
    REMOVE_S,
    SETTLE_S,
    SHAPE_FACTOR,
    XRF_MAX_GAP_WALL_S,
    ContainerPlan,
    Event,
    LineModel,
    LotPlan,
    _truth,
    measurement_params,
)
from simulators.plantline.schema import Scenario

DEVICES = {"scale": "scale-out", "qc_nir": "qc-nir", "sorter": "nir-sorter", "xrf": "xrf", "camera": "cam-out",
           "ident": "cam-ident"}


def line_measurement_params(scenario: Scenario, seconds_per_wall_s: float) -> MeasurementParams:
    """The line's calibration plus which devices each lot expects and how long each may stay silent.
    Silence limits are wall seconds; ``seconds_per_wall_s`` is 1 for live runs (agent clock) and the
    scenario's speed offline (scenario clock)."""
    return measurement_params(scenario).model_copy(update={
        "expected_devices": {name: key for key, name in DEVICES.items()},
        "max_gap_s": MAX_GAP_WALL_S * seconds_per_wall_s,
        "max_gap_by_device": {DEVICES["xrf"]: XRF_MAX_GAP_WALL_S * seconds_per_wall_s}})


# The live conveyor camera cannot be shown every flake (~13 000 a wall second); it is shown this many a wall
# second, a representative subsample (see ``_render_sample``).
RENDER_PER_WALL_S = 20.0


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
    carry = {"dark": 0.0}  # error diffusion of the rendered dark count across containers
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
            sorter: dict[str, Any] = {"counts": {}, "ejected": 0, "ejected_by": {}}
            fill = float(rng.uniform(*scenario.lots.fill_kg))
            n_models = len(models)
            a = model.container(batch, fill, models, sorter)
            flows += _product_flows(models, n_models, sorter, a)
            t += (PLACE_S + SETTLE_S) * sp
            c = ContainerPlan(round(float(rng.uniform(*scenario.lots.tare_kg)), 3),
                              round(float(a["mass"].sum()) / 1000, 3), t, t + scenario.lots.fill_s)
            events += _events(model, scenario, a, c, sorter, models[n_models:], carry)
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
            sorter: dict[str, Any], models: list[str], carry: dict[str, float]) -> list[Event]:
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
    sample = _render_sample(a["size"][order], dark, round(RENDER_PER_WALL_S * (c.fill_end - c.fill_start) / s.speed),
                            carry)
    for lo, hi in itertools.pairwise(edges):
        m = (when >= lo) & (when < hi)
        cnt = int(m.sum())
        ar = float(area[m].sum())
        shown = [[round(float(when[j]), 3), round(float(a["size"][order[j]]), 2), bool(dark[j])]
                 for j in sample if lo <= when[j] < hi]
        events.append(Event(float(hi), "camera", "conveyor", {
            "count": cnt, "occupancy_pct": round(min(100.0, ar / (1000 * 2500 * (hi - lo)) * 100), 3),
            "dark_count_share": round(float(dark[m].sum()) / cnt, 4) if cnt else 0.0,
            "dark_area_share": round(float(area[m & dark].sum()) / ar, 4) if ar else 0.0,
            "interval_s": round(float(hi - lo), 3)}, {"flakes": shown}))
        share = (hi - lo) / (c.fill_end - c.fill_start)
        events.append(Event(float(hi), "sorter", "nir_counts", {
            "interval_s": round(float(hi - lo), 3), "running": True, "belt_speed_m_s": 2.5,
            "counts": {p: int(v * share) for p, v in sorter["counts"].items()},
            "ejections": {p: int(v * share) for p, v in sorter["ejected_by"].items()}, "alarms": []}))
    # Ident camera at dismantling: product models read off the rating plate (a plate missing, dirty or out of
    # view is not read); live, a plate is in view for the product's share of the filling time.
    half = 0.5 * (c.fill_end - c.fill_start) / max(1, len(models))
    for k_, m_ in enumerate(models):
        if rng.random() < sens.ident_read_rate:
            t = c.fill_start + (k_ + 0.5) / len(models) * (c.fill_end - c.fill_start)
            events.append(Event(t, "ident", "ident", {"model_candidates": [{"model": m_, "confidence": 0.9}]},
                                {"in_view": [round(t - half, 3), round(t + half, 3)]}))
    return events


def _render_sample(size: np.ndarray, dark: np.ndarray, n: int, carry: dict[str, float]) -> list[int]:
    """Arrival slots of ``n`` flakes standing in for all of a container's flakes on the live camera (no draws).

    Stratified by colour: dark flakes get their count share of ``n`` (the remainder carried to the next
    container, so the rendered share is unbiased over a run), and within each stratum the flakes at evenly
    spaced size quantiles are taken, so the stratum's size (area) distribution is kept.
    """
    slots: list[int] = []
    dark_idx, light_idx = np.flatnonzero(dark), np.flatnonzero(~dark)
    x = n * len(dark_idx) / max(1, len(dark)) + carry["dark"]
    n_dark = min(len(dark_idx), int(x))
    carry["dark"] = x - n_dark
    for idx, k in ((dark_idx, n_dark), (light_idx, min(len(light_idx), n - n_dark))):
        if k <= 0:
            continue
        by_size = idx[np.argsort(size[idx], kind="stable")]
        slots += [int(by_size[int((j + 0.5) * len(by_size) / k)]) for j in range(k)]
    return sorted(slots)


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
