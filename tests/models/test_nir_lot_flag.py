"""A NIR model whose card marks it not fit for sorting can feed lot composition only with the lot flagged."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from edge_agent.drivers import DRIVERS
from edge_agent.drivers.base import DeviceReading
from edge_agent.drivers.nir_spectrometer import NirSpectrometerConfig
from junkan.core.measurement import MeasurementParams, add_reading, evidence_from_readings, measure, new_evidence

ROOT = Path(__file__).resolve().parents[2]
LINE = b"0.85,0.62,0.71,0.69,0.55,0.48,0.40,0.21\r\n"
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def readings(config: NirSpectrometerConfig | None, n: int = 5) -> list[DeviceReading]:
    out = DRIVERS["nir_spectrometer"].decoder(config).feed(LINE * n)
    assert all(isinstance(r, DeviceReading) for r in out) and len(out) == n
    return out  # type: ignore[return-value]


def lot(data: list[dict[str, Any]]) -> dict[str, Any]:
    ev = new_evidence()
    for i, d in enumerate(data):
        add_reading(ev, "nir-1", "nir_object", T0 + timedelta(seconds=i), {**d, "size_mm": 20.0})
    m = measure(ev, opened_at=T0, closed_at=T0 + timedelta(seconds=len(data)), params=MeasurementParams())
    return m.model_dump(mode="json")  # the wire form a lot summary carries


def test_readings_of_an_unfit_model_flag_the_lot() -> None:
    got = readings(None)  # the shipped 8-LED model: its card says not fit
    assert json.loads((ROOT / "models" / "nir_polymer" / "model.json").read_text())["fit_for_sorting"] is False
    assert all(r.data["model_fit_for_sorting"] is False for r in got)
    m = lot([r.data for r in got])
    assert m["composition"]["model_not_fit"] == {"nir-1": 5}
    assert [d for d in m["devices"]["degraded"] if d["device"] == "nir-1" and "model_not_fit" in d["reason"]]


def test_a_fit_model_does_not_flag(tmp_path: Path) -> None:
    d = tmp_path / "fit_model"
    shutil.copytree(ROOT / "models" / "nir_polymer", d)
    card = json.loads((d / "model.json").read_text())
    (d / "model.json").write_text(json.dumps({**card, "fit_for_sorting": True}))
    cfg = NirSpectrometerConfig.model_validate({"name": "nir-1", "type": "nir_spectrometer",
                                                "port": {"url": "loop://"}, "model": str(d / "nir_polymer.onnx"),
                                                "labels": str(d / "labels.txt")})
    got = readings(cfg)
    assert all(r.data["model_fit_for_sorting"] is True for r in got)
    m = lot([r.data for r in got])
    assert "model_not_fit" not in m["composition"] and not m["devices"]["degraded"]


def test_no_card_means_not_fit(tmp_path: Path) -> None:
    d = tmp_path / "no_card"
    shutil.copytree(ROOT / "models" / "nir_polymer", d)
    (d / "model.json").unlink()
    cfg = NirSpectrometerConfig.model_validate({"name": "nir-1", "type": "nir_spectrometer",
                                                "port": {"url": "loop://"}, "model": str(d / "nir_polymer.onnx"),
                                                "labels": str(d / "labels.txt")})
    assert all(r.data["model_fit_for_sorting"] is False for r in readings(cfg, 2))


def test_gateway_recomputation_keeps_the_flag() -> None:
    """The gateway replays stored readings through evidence_from_readings: the flag survives the replay."""
    rows = [{"device": "nir-1", "kind": "nir_object", "ts": (T0 + timedelta(seconds=i)).isoformat(),
             "data": {**r.data, "size_mm": 15.0}} for i, r in enumerate(readings(None, 3))]
    ev = evidence_from_readings(rows)
    m = measure(ev, opened_at=T0, closed_at=T0 + timedelta(seconds=3)).model_dump(mode="json")
    assert m["composition"]["model_not_fit"] == {"nir-1": 3}


def test_sorter_events_without_the_field_are_not_flagged() -> None:
    """Readings that never came from one of our models (no field at all) keep their old meaning and form."""
    m = lot([{"polymer": "PP"}, {"polymer": "PE"}])
    assert "model_not_fit" not in m["composition"] and not m["devices"]["degraded"]
    ev = new_evidence()
    add_reading(ev, "nir-1", "nir_object", T0, {"polymer": "PP", "size_mm": 10.0})
    assert "nir_model_not_fit" not in ev.model_dump(mode="json")  # stored open-lot state unchanged


def test_evidence_state_round_trips_the_count() -> None:
    """The agent persists the evidence of an open lot; a restart must not lose the flag."""
    from junkan.core.lot_evidence import LotEvidence

    ev = new_evidence()
    for r in readings(None, 2):
        add_reading(ev, "nir-1", "nir_object", T0, {**r.data, "size_mm": 10.0})
    again = LotEvidence.model_validate(json.loads(json.dumps(ev.model_dump(mode="json"))))
    assert again.nir_model_not_fit == {"nir-1": 2}
