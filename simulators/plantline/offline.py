"""Play a scenario's sensor events straight into the lot measurement, without processes (fast, pure).

The same evidence/measure functions the agent runs; the scale is replaced by its reading model (readings
quantised to the division with 0.25 d noise, stable value = mean of 3 frames). Used by tests and by
``junkan sim scenario --offline`` to measure the statistics over many lots in seconds.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from junkan.core.measurement import add_reading, add_weighing, add_zero, measure, new_evidence
from simulators.plantline.plan import DEVICES, line_measurement_params, plan_lots
from simulators.plantline.schema import Scenario

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _stable(rng: np.random.Generator, kg: float, d: float) -> float:
    frames = [round(round((kg + rng.normal(0, 0.25 * d)) / d) * d, 6) for _ in range(3)]
    return sum(frames) / 3


def lot_id(scenario: Scenario, seed: int, lot_no: int) -> str:
    return f"{scenario.line}-S{seed:03d}-{lot_no:04d}"


def run_offline(scenario: Scenario, seed: int, n_lots: int, division_kg: float = 0.02
                ) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """Truth records and measured lots (as the gateway would store them) for ``n_lots`` lots."""
    rng = np.random.default_rng(seed + 1000)
    params = line_measurement_params(scenario, seconds_per_wall_s=scenario.speed)
    truth, stored = [], {}
    for plan in plan_lots(scenario, seed, n_lots):
        lid = lot_id(scenario, seed, plan.lot_no)
        ev = new_evidence()
        for c in plan.containers:
            tare = _stable(rng, c.tare_kg, division_kg)
            gross = _stable(rng, c.tare_kg + c.net_kg, division_kg)
            add_zero(ev, DEVICES["scale"], T0 + timedelta(seconds=c.fill_start), 0.0)
            add_weighing(ev, DEVICES["scale"], T0 + timedelta(seconds=c.fill_end), gross - tare, tare)
        for e in plan.events:
            add_reading(ev, DEVICES[e.device], e.kind, T0 + timedelta(seconds=e.t), e.data)
        m = measure(ev, opened_at=T0 + timedelta(seconds=plan.start), closed_at=T0 + timedelta(seconds=plan.end),
                    params=params)
        truth.append({"lot_id": lid, "line": scenario.line, "seed": seed, **plan.truth})
        stored[lid] = {"lot_id": lid, "status": "closed", "net_mass_kg": m.net_mass_kg,
                       "measurement": m.model_dump(mode="json")}
    return truth, stored
