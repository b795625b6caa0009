"""The line as physics, seeded: which flakes end up in each output container, and what the sensors report.

Pure apart from the random generator: ``plan_lots(scenario, seed, n)`` returns, per lot, the containers
(tare, true net), the sensor events with their scenario time, and the truth. The runner plays the events
through device simulators; ``offline`` feeds them straight into the measurement.

Which sensor sees what: the QC NIR on the output belt sees a share of the output flakes (polymer through
its own small confusion, black flakes as ``unknown``, size); the XRF spot-checks output flakes; the camera
counts every output flake and its darkness; the sorter's counters report what it detected and ejected on
its *input* (never used as the output's composition); the ident camera reads product models at
dismantling. The truth is computed over every flake in the container.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from junkan.core.measurement import MeasurementParams
from simulators.plantline.schema import ProductSpec, Scenario

ELEMENTS = ("Br", "Cd", "Pb", "Hg", "Cr")
SHAPE_FACTOR = 0.7  # mean projected area / size^2 of a flake; the truth varies it +-20 % per flake
# Timing of one container on the platform (wall seconds: the scale needs real stable frames).
PLACE_S, SETTLE_S, REMOVE_S, EMPTY_S, GAP_S = 0.6, 1.2, 0.5, 1.6, 1.0
# A device silent this long (wall s) during a lot is degraded: above the longest natural pause of the QC NIR
# and the ident camera (no flakes between two containers: about 5 s), below the scenarios' faults (10 s).
MAX_GAP_WALL_S = 8.0
# XRF spot checks land at random points of a container cycle; two far apart across a container change can
# exceed 8 s with no fault (about 1 lot in 80 offline), so the XRF gets twice the limit.
XRF_MAX_GAP_WALL_S = 2 * MAX_GAP_WALL_S


@dataclass
class Event:
    t: float  # scenario seconds from the start of the run
    device: str
    kind: str
    data: dict[str, Any]
    sim: dict[str, Any] = field(default_factory=dict)  # for the live device simulators only, never a reading


@dataclass
class ContainerPlan:
    tare_kg: float
    net_kg: float
    fill_start: float  # scenario seconds
    fill_end: float


@dataclass
class LotPlan:
    lot_no: int
    start: float
    end: float
    containers: list[ContainerPlan]
    events: list[Event]
    truth: dict[str, Any] = field(default_factory=dict)
    flows: list[dict[str, Any]] = field(default_factory=list)  # per product: masses through the line (kg)


def density(polymer: str) -> float:
    return MeasurementParams().density_g_cm3.get(polymer, MeasurementParams().default_density_g_cm3)


def measurement_params(scenario: Scenario) -> MeasurementParams:
    """The calibration an operator would set for this line, from the products' documented material data
    (part masses, wall thicknesses, colours), never from lot truth.

    Per product model: polymer -> [NIR-visible part mass, effective thickness]; black parts are left out
    because the QC NIR never identifies them. The fallback thickness per polymer (no model read) is the
    same harmonic mean over the scenario's average product mix, with its between-product spread.
    """
    per_product: dict[str, dict[str, list[float]]] = {}
    for product in scenario.products:
        mass: dict[str, float] = {}
        area: dict[str, float] = {}  # mass / thickness ~ number of flakes
        for part in product.parts:
            m = float(np.mean(part.mass_kg)) * (1 - part.dark_prob)
            mass[part.polymer] = mass.get(part.polymer, 0.0) + m
            area[part.polymer] = area.get(part.polymer, 0.0) + m / part.thickness_mm
        per_product[product.category] = {p: [round(mass[p], 4), round(mass[p] / area[p], 4)]
                                         for p in mass if area[p] > 0}
    model_parts = {model: per_product[p.category] for p in scenario.products for model in p.models}
    total_w = sum(b.weight for b in scenario.batches)
    mix: dict[str, float] = {}
    for b in scenario.batches:
        for cat, share in b.products.items():
            mix[cat] = mix.get(cat, 0.0) + b.weight / total_w * share / sum(b.products.values())
    thickness, rel_sd = {}, {}
    for polymer in {p for parts in per_product.values() for p in parts}:
        rows = [(mix.get(cat, 0.0) * parts[polymer][0], parts[polymer][1])
                for cat, parts in per_product.items() if polymer in parts]
        w = sum(r[0] for r in rows)
        if w <= 0:
            continue
        t = w / sum(m / tk for m, tk in rows)
        thickness[polymer] = round(t, 4)
        rel_sd[polymer] = round(float(np.sqrt(sum(m * (tk - t) ** 2 for m, tk in rows) / w)) / t, 4)
    classes = {pt.polymer for p in scenario.products for pt in p.parts} | set(scenario.sorter.target)
    return MeasurementParams(thickness_mm=thickness, thickness_rel_sd=rel_sd, model_parts=model_parts,
                             shape_factor=SHAPE_FACTOR, nir_accuracy=scenario.sensors.qc_accuracy,
                             nir_classes=max(2, len(classes)))


class _Flakes:
    """Column store of flakes (numpy arrays) appended part by part."""

    def __init__(self) -> None:
        self.cols: dict[str, list[np.ndarray]] = {k: [] for k in ("poly", "size", "mass", "dark", "prod", *ELEMENTS)}

    def add(self, **cols: np.ndarray) -> None:
        for k, v in cols.items():
            self.cols[k].append(v)

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate(v) if v else np.zeros(0) for k, v in self.cols.items()}


class LineModel:
    def __init__(self, scenario: Scenario, seed: int) -> None:
        self.s, self.rng = scenario, np.random.default_rng(seed)
        self.products = {p.category: p for p in scenario.products}
        known = scenario.sorter.polymers or sorted({pt.polymer for p in scenario.products for pt in p.parts})
        self.polymers = list(dict.fromkeys([*known, *scenario.sorter.target]))
        self.index = {p: i for i, p in enumerate(self.polymers)}
        self.confusion = self._confusion()

    def _confusion(self) -> np.ndarray:
        n, acc = len(self.polymers), self.s.sorter.accuracy
        m = np.full((n, n), (1 - acc) / max(1, n - 1)) if n > 1 else np.ones((1, 1))
        np.fill_diagonal(m, acc if n > 1 else 1.0)
        for true, row in self.s.sorter.confusion.items():
            if true in self.index:
                m[self.index[true]] = 0.0
                for det, p in row.items():
                    m[self.index[true], self.index[det]] = p
        return m / m.sum(axis=1, keepdims=True)

    # -- material -------------------------------------------------------------------------------------
    def _product(self, spec: ProductSpec, flakes: _Flakes, sorter: dict[str, Any], prod_no: int) -> None:
        rng = self.rng
        median, sigma = self.s.flake_size_mm
        for part in spec.parts:
            mass_g = rng.uniform(*part.mass_kg) * 1000
            rho = density(part.polymer)
            mean_flake = rho * 1e-3 * part.thickness_mm * SHAPE_FACTOR * median**2 * np.exp(sigma**2)
            n = int(mass_g / mean_flake * 1.3) + 10
            size = median * np.exp(rng.normal(0, sigma, n))
            mass = rho * 1e-3 * part.thickness_mm * rng.uniform(0.85, 1.15, n) * SHAPE_FACTOR \
                * rng.uniform(0.8, 1.2, n) * size**2
            keep = np.cumsum(mass) <= mass_g
            size, mass, n = size[keep], mass[keep], int(keep.sum())
            dark = rng.random() < part.dark_prob
            conc = {}
            for el in ELEMENTS:
                e = part.elements.get(el)
                if e is None:
                    conc[el] = np.zeros(n)
                    continue
                lo, hi = e.ppm if rng.random() < e.p else e.background
                conc[el] = np.full(n, rng.uniform(lo, hi))
            true_idx = self.index[part.polymer]
            detected = np.full(n, -1) if dark else rng.choice(len(self.polymers), size=n, p=self.confusion[true_idx])
            target = np.isin(detected, [self.index[t] for t in self.s.sorter.target])
            ejected = (target & (rng.random(n) < self.s.sorter.ejection_efficiency)) | \
                (~target & (rng.random(n) < self.s.sorter.co_ejection))
            for d, cnt in zip(*np.unique(detected, return_counts=True), strict=True):
                key = self.polymers[int(d)] if d >= 0 else "unknown"
                sorter["counts"][key] = sorter["counts"].get(key, 0) + int(cnt)
                n_ej = int(ejected[detected == d].sum())
                sorter["ejected_by"][key] = sorter["ejected_by"].get(key, 0) + n_ej
            sorter["ejected"] += int(ejected.sum())
            # Mass flows of this part (kg) for the MES records (simulators/plantline/mes.py); no random draws.
            sorter.setdefault("parts", []).append((prod_no, mass_g / 1000, float(mass.sum()) / 1000,
                                                   float(mass[ejected].sum()) / 1000))
            flakes.add(poly=np.full(int(ejected.sum()), true_idx), size=size[ejected], mass=mass[ejected],
                       dark=np.full(int(ejected.sum()), dark), prod=np.full(int(ejected.sum()), prod_no),
                       **{el: conc[el][ejected] for el in ELEMENTS})

    def container(self, batch: dict[str, float], fill_kg: float, models: list[str],
                  sorter: dict[str, Any]) -> dict[str, np.ndarray]:
        """Products go through the line until the output container holds ``fill_kg``."""
        flakes, got, cats = _Flakes(), 0.0, list(batch)
        weights = np.array([batch[c] for c in cats]) / sum(batch.values())
        while got < fill_kg * 1000:
            spec = self.products[cats[self.rng.choice(len(cats), p=weights)]]
            models.append(spec.models[self.rng.integers(len(spec.models))])
            before = len(flakes.cols["mass"])
            self._product(spec, flakes, sorter, len(models) - 1)
            got += float(sum(m.sum() for m in flakes.cols["mass"][before:]))
        a = flakes.arrays()
        cut = int(np.searchsorted(np.cumsum(a["mass"]), fill_kg * 1000)) + 1  # the container is full
        return {k: v[:cut] for k, v in a.items()}


def _truth(model: LineModel, a: dict[str, np.ndarray], models: list[str]) -> dict[str, Any]:
    mass = a["mass"]
    total = float(mass.sum())
    vis = ~a["dark"].astype(bool)
    fr = {p: float(mass[a["poly"] == i].sum() / total) for i, p in enumerate(model.polymers)}
    fr_vis = {p: float(mass[(a["poly"] == i) & vis].sum() / max(1e-9, mass[vis].sum()))
              for i, p in enumerate(model.polymers)}
    conc = {el: float((a[el] * mass).sum() / total) for el in ELEMENTS}
    counts: dict[str, int] = {}
    for m in models:
        counts[m] = counts.get(m, 0) + 1
    return {
        "net_mass_kg": round(total / 1000, 3),
        "n_flakes": len(mass),
        "polymer_mass_fractions": {p: round(v, 6) for p, v in fr.items() if v > 0},
        "polymer_mass_fractions_visible": {p: round(v, 6) for p, v in fr_vis.items() if v > 0},
        "elements_ppm": {el: round(v, 2) for el, v in conc.items()},
        "br_mass_share_above_2000": round(float(mass[a["Br"] > 2000].sum() / total), 6),
        "dark_mass_share": round(float(mass[~vis].sum() / total), 6),
        "dark_count_share": round(float((~vis).sum() / len(mass)), 6),
        "product_models": counts,
    }
