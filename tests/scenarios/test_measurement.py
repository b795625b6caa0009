"""Lot measurement: evidence folding, composition, censored contaminants, device quality, re-computation."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from edge_agent.lots.aggregator import LotAggregator, LotClosed, LotPolicy, OpenLot
from edge_agent.lots.weighing import WeighingEvent
from junkan.core.lot_evidence import LotEvidence
from junkan.core.measurement import (
    MeasurementParams,
    add_reading,
    add_weighing,
    add_zero,
    evidence_from_readings,
    measure,
    new_evidence,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)



def measured(ev: LotEvidence, **kw: Any) -> dict[str, Any]:
    """The lot's measurement as the wire carries it (JSON types)."""
    return measure(ev, **kw).model_dump(mode="json")

def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def xrf(br: float | None, below: bool = False, error: float | None = 2.0) -> dict:
    return {"reading_no": 1, "elements": {"Br": {"ppm": br, "error": error, "sigma": 1, "below_lod": below}}}


def test_shape_has_the_keys_consumers_rely_on() -> None:
    ev = new_evidence()
    add_weighing(ev, "scale", at(5), 120.5, 30.0)
    for i in range(10):
        add_reading(ev, "qc-nir", "nir_object", at(i), {"polymer": "PP", "confidence": 0.99, "size_mm": 20})
    add_reading(ev, "xrf", "xrf", at(3), xrf(2500.0))
    add_reading(ev, "cam", "conveyor", at(4), {"count": 10, "occupancy_pct": 5, "dark_count_share": 0.1,
                                                "dark_area_share": 0.2, "interval_s": 1})
    add_reading(ev, "id-cam", "ident", at(4), {"model_candidates": [{"model": "NA-F70PB1", "confidence": 0.9}]})
    m = measured(ev, opened_at=at(0), closed_at=at(10))
    assert {"method", "net_mass_kg", "composition", "contaminants", "nir_blind_share", "product_models",
            "devices"} <= set(m)
    assert m["net_mass_kg"] == 120.5
    comp = m["composition"]
    assert comp["n_objects"] == 10 and isinstance(comp["mass_method"], str)
    assert set(comp["by_count"]["PP"]) >= {"n", "share", "ci95"} and set(comp["by_mass"]["PP"]) >= {"share", "ci95"}
    br = m["contaminants"]["Br"]
    assert set(br) >= {"n", "n_below_lod", "mean_ppm", "p95_ppm", "max_ppm", "lod_ppm", "method", "thresholds"}
    assert set(br["thresholds"]["2000"]) >= {"fraction_above", "ci95"}
    assert m["nir_blind_share"] == {"by_count": 0.1, "by_area": 0.2, "n_objects": 10, "intervals": 1}
    assert m["product_models"] == [{"model": "NA-F70PB1", "count": 1}]
    assert set(m["devices"]) == {"contributed", "missing", "degraded"}


def test_mass_share_uses_density_and_thickness() -> None:
    ev = new_evidence()
    for _ in range(50):
        add_reading(ev, "n", "nir_object", at(1), {"polymer": "PP", "size_mm": 20})
        add_reading(ev, "n", "nir_object", at(1), {"polymer": "ABS", "size_mm": 20})
    params = MeasurementParams(thickness_mm={"PP": 3.0, "ABS": 2.0})
    comp = measured(ev, opened_at=at(0), closed_at=at(2), params=params)["composition"]
    pp, abs_ = 0.905 * 3.0, 1.05 * 2.0
    assert comp["by_count"]["PP"]["share"] == 0.5
    assert comp["by_mass"]["PP"]["share"] == pytest.approx(pp / (pp + abs_), abs=1e-6)
    lo, hi = comp["by_mass"]["PP"]["ci95"]
    assert lo < comp["by_mass"]["PP"]["share"] < hi


def test_unidentified_pieces_are_not_spread_over_polymers() -> None:
    ev = new_evidence()
    add_reading(ev, "n", "nir_object", at(1), {"polymer": "PP", "size_mm": 20})
    add_reading(ev, "n", "nir_object", at(1), {"polymer": None, "size_mm": 20})
    add_reading(ev, "n", "nir_object", at(1), {"polymer": "unknown", "size_mm": 20})
    comp = measured(ev, opened_at=at(0), closed_at=at(2))["composition"]
    assert comp["n_objects"] == 1 and comp["n_unidentified"] == 2
    assert comp["by_count"]["PP"]["share"] == 1.0


def test_below_lod_is_censored_not_zero() -> None:
    ev = new_evidence()
    for _ in range(8):
        add_reading(ev, "x", "xrf", at(1), xrf(None, below=True, error=2.0))  # LOD = 3 x 2 ppm
    add_reading(ev, "x", "xrf", at(1), xrf(4000.0))
    add_reading(ev, "x", "xrf", at(1), xrf(6000.0))
    br = measured(ev, opened_at=at(0), closed_at=at(2))["contaminants"]["Br"]
    assert br["n"] == 10 and br["n_below_lod"] == 8 and br["lod_ppm"] == 6.0
    assert br["mean_bounds_ppm"] == [1000.0, 1004.8]
    assert 1000.0 < br["mean_ppm"] < 1004.8
    assert br["max_ppm"] == 6000.0
    assert br["thresholds"]["2000"]["fraction_above"] == 0.2
    lo, hi = br["thresholds"]["2000"]["ci95"]
    assert lo < 0.2 < hi


def test_br_flag_is_precautionary_upper_bound() -> None:
    ev_high, ev_low = new_evidence(), new_evidence()
    for i in range(40):
        add_reading(ev_high, "x", "xrf", at(1), xrf(12000.0 if i % 4 == 0 else 30.0))  # mean ~3000
        add_reading(ev_low, "x", "xrf", at(1), xrf(40.0 + i))
    high = measured(ev_high, opened_at=at(0), closed_at=at(2))["contaminants"]["Br"]["thresholds"]["2000"]
    low = measured(ev_low, opened_at=at(0), closed_at=at(2))["contaminants"]["Br"]["thresholds"]["2000"]
    assert high["flag"] and high["mean_above"]
    assert not low["flag"] and not low["mean_above"]


def test_no_xrf_data_means_flag_and_nones() -> None:
    br = measured(new_evidence(), opened_at=at(0), closed_at=at(2))["contaminants"]["Br"]
    assert br["n"] == 0 and br["mean_ppm"] is None
    assert br["thresholds"]["2000"]["flag"]  # unknown is not "clean"


def test_devices_missing_and_degraded() -> None:
    ev = new_evidence()
    for s in range(0, 60, 2):
        if not 20 <= s < 50:  # a 30 s outage
            add_reading(ev, "qc-nir", "nir_object", at(s), {"polymer": "PP", "size_mm": 20})
        add_reading(ev, "sorter", "nir_counts", at(s), {"interval_s": 2, "running": s < 40, "counts": {},
                                                        "alarms": ["E12 air pressure"] if s == 10 else []})
    add_zero(ev, "scale", at(1), 0.0)
    add_zero(ev, "scale", at(50), 0.4)
    params = MeasurementParams(expected_devices={"qc-nir": "nir", "sorter": "nir", "cam": "camera", "scale": "s"})
    dev = measured(ev, opened_at=at(0), closed_at=at(60), params=params)["devices"]
    assert dev["missing"] == ["cam"]
    assert set(dev["contributed"]) == {"qc-nir", "sorter", "scale"}
    reasons = {(d["device"], d["reason"].split()[0]) for d in dev["degraded"]}
    assert ("qc-nir", "no") in reasons
    assert ("sorter", "sorter") in reasons and ("sorter", "alarms:") in reasons
    assert ("scale", "empty-scale") in reasons


def test_bad_readings_are_counted_not_raised() -> None:
    ev = new_evidence()
    add_reading(ev, "n", "nir_object", at(1), {"polymer": "PP"})  # no size
    add_reading(ev, "c", "conveyor", at(1), {"occupancy_pct": 3})  # no count
    add_reading(ev, "x", "xrf", at(1), {"elements": {"Br": {"ppm": "n/a"}}})
    m = measured(ev, opened_at=at(0), closed_at=at(2))
    assert ev.bad_readings == 3
    assert any(d["device"] == "*" for d in m["devices"]["degraded"])


def _agent_side(readings: list[tuple[str, str, float, dict]]) -> tuple[dict, OpenLot]:
    agg = LotAggregator(LotPolicy(), new_lot_id=lambda ts: "L1")
    agg.open(at(0))
    for device, kind, s, data in readings:
        if kind == "weighing":
            agg.add_weighing(WeighingEvent(device, data["tare_kg"], data["tare_kg"] + data["net"], data["net"],
                                           at(s - 5), at(s)))
        else:
            agg.note_reading(device, kind, at(s), data)
    lot = agg.current
    assert lot is not None
    restored = OpenLot.from_state(json.loads(json.dumps(lot.to_state())))  # persisted with the outbox
    events = agg.close(at(100))
    assert isinstance(events[0], LotClosed)
    return measured(lot.evidence, opened_at=lot.opened_at, closed_at=at(100)), restored


def test_gateway_recompute_equals_agent_and_state_round_trips() -> None:
    readings = [("n", "nir_object", float(i), {"polymer": ["PP", "PE", "PP"][i % 3], "size_mm": 10 + i})
                for i in range(30)]
    readings += [("x", "xrf", 5.0, xrf(30.0)), ("x", "xrf", 6.0, xrf(None, True)),
                 ("s", "weighing", 50.0, {"tare_kg": 30.0, "net": 101.25})]
    agent_m, restored = _agent_side(readings)
    rows = [{"device": d, "kind": k, "ts": at(s).isoformat(), "value": data.get("net"),
             "data": {"tare_kg": data["tare_kg"]} if k == "weighing" else data} for d, k, s, data in readings]
    gateway_m = measured(evidence_from_readings(rows), opened_at=at(0), closed_at=at(100))
    assert gateway_m == agent_m
    assert measured(restored.evidence, opened_at=at(0), closed_at=at(100)) == agent_m
    assert agent_m["composition"]["by_count"]["PP"]["n"] == 20
