"""The live runner's camera and sorter simulators, through the agent's real analyzers (no processes, ~3 s)."""

from __future__ import annotations

import numpy as np
import pytest

from edge_agent.drivers.base import BadFrame
from edge_agent.drivers.camera import CameraConfig, build_pipeline
from edge_agent.drivers.nir_sorter_modbus import parse_registers
from simulators.camera.live import FlakeBelt, PlateStation
from simulators.nir_sorter_modbus import SorterScenario
from simulators.plantline.live import LiveDevices, sorter_channels
from simulators.plantline.plan import _render_sample, plan_lots
from simulators.plantline.schema import load_scenario


def _pipeline(**kw: object) -> object:
    return build_pipeline(CameraConfig.model_validate({"name": "c", "type": "camera", "source": "x", **kw}))


def test_render_sample_keeps_dark_share_and_sizes_over_containers() -> None:
    rng = np.random.default_rng(4)
    carry = {"dark": 0.0}
    shown_dark = shown = 0
    true_dark = true = 0
    for _ in range(200):
        size = 24 * np.exp(rng.normal(0, 0.35, 5000))
        dark = rng.random(5000) < 0.004  # output streams carry well under 1 % black flakes
        slots = _render_sample(size, dark, 120, carry)
        assert len(slots) == 120 and len(set(slots)) == 120
        shown_dark += int(dark[slots].sum())
        shown += 120
        true_dark += int(dark.sum())
        true += 5000
        assert np.median(size[slots]) == pytest.approx(np.median(size), rel=0.05)
    assert shown_dark / shown == pytest.approx(true_dark / true, rel=0.02)


def test_flake_belt_through_the_conveyor_analyzer() -> None:
    belt = FlakeBelt(seed=1)
    rng = np.random.default_rng(2)
    n = 60
    sizes = 24 * np.exp(rng.normal(0, 0.35, n))
    dark = rng.random(n) < 0.25
    belt.schedule([(0.5 + i / 15, float(s), bool(d)) for i, (s, d) in enumerate(zip(sizes, dark, strict=True))])
    pipe = _pipeline(analyzers=["conveyor"], conveyor={"interval_s": 1.0, "min_area_px": 60, "max_jump_px": 80})
    counts = dark_count = 0.0
    area = dark_area = 0.0
    for k in range(int(9.0 * 12)):  # 12 frames a second of wall time
        for r in pipe.process(belt.frame(k / 12), k / 12):  # type: ignore[attr-defined]
            counts += r.data["count"]
            dark_count += r.data["count"] * r.data["dark_count_share"]
            a = r.data["occupancy_pct"] * r.data["interval_s"]
            area += a
            dark_area += a * r.data["dark_area_share"]
    assert belt.shown == n and counts == n
    assert round(dark_count) == int(dark.sum())
    true_area = float((sizes[dark] ** 2).sum() / (sizes**2).sum())
    assert dark_area / area == pytest.approx(true_area, abs=0.05)


def test_blackout_frames_are_blank_to_the_camera() -> None:
    belt = FlakeBelt(seed=1)
    belt.blackout = (1.0, 2.0)
    pipe = _pipeline(analyzers=["conveyor"])
    out = pipe.process(belt.frame(1.5), 1.5)  # type: ignore[attr-defined]
    assert out and isinstance(out[0], BadFrame) and "blank" in out[0].reason
    assert not any(isinstance(r, BadFrame) for r in pipe.process(belt.frame(2.5), 2.5))  # type: ignore[attr-defined]


def test_plate_station_models_are_read_from_the_codes() -> None:
    models = ["NA-F70PB1", "KV-29DX", "NZE141-Corolla", "32S5"]
    station = PlateStation(seed=3)
    station.schedule([(i * 1.0, i * 1.0 + 0.5, m, f"P{i:05d}") for i, m in enumerate(models)])
    pipe = _pipeline(analyzers=["codes"], codes={"formats": ["qr", "datamatrix"]})
    read = []
    for k in range(int(len(models) / 0.25)):
        for r in pipe.process(station.frame(k * 0.25), k * 0.25):  # type: ignore[attr-defined]
            read.append(r.data["model_candidates"][0]["model"])
    assert read == models  # once per plate (same serial suppressed), nothing between plates


def test_sorter_counters_follow_the_plan() -> None:
    s = load_scenario("appliance_pp_line")
    plans = plan_lots(s, 1, 1)
    channels = sorter_channels(plans)
    assert channels[-1] == "unknown" and "PP" in channels
    dev = LiveDevices(s, plans, 1)
    for e in plans[0].events:
        dev.on_event(e)
    snap = parse_registers(dev.counters.registers(), 0.0, channels)
    assert not isinstance(snap, BadFrame)
    sorter = [e.data for e in plans[0].events if e.device == "sorter"]
    assert snap.counts == {c: sum(d["counts"].get(c, 0) for d in sorter) for c in channels}
    assert snap.ejections["PP"] == sum(d["ejections"].get("PP", 0) for d in sorter) > 0
    assert isinstance(dev.counters, SorterScenario)
    names = [d["name"] for d in dev.agent_devices()]
    assert names == ["nir-sorter", "cam-out", "cam-ident"]
