"""Typed Measurement and LotEvidence: release 1's stored forms still load, the wire form is unchanged.

``data/measurement_release1.json`` was written by release 1's ``junkan.core.measurement`` (dicts with
positional lists): per lot the evidence it kept (``v: 1``) and the ``measurement`` dict it sent.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from edge_agent.lots.aggregator import OpenLot
from junkan.core.lot_evidence import LotEvidence
from junkan.core.measurement import MeasurementParams, add_reading, add_weighing, measure
from junkan.core.measurement_model import (
    LiveMass,
    Measurement,
    MeasurementFailure,
    parse_lot_measurement,
    read_measurement,
)
from junkan.core.messages import LotMessage, LotSummary, dump

RELEASE1 = json.loads((Path(__file__).parent / "data" / "measurement_release1.json").read_text())["lots"]


@pytest.mark.parametrize("lot", RELEASE1, ids=[f"{x['scenario']}-{i}" for i, x in enumerate(RELEASE1)])
def test_release1_evidence_loads_and_measures_to_what_release1_sent(lot: dict[str, Any]) -> None:
    ev = LotEvidence.model_validate(lot["evidence"])
    assert lot["evidence"]["v"] == 1 and ev.v == 2
    assert len(ev.weighings) == len(lot["evidence"]["weighings"])
    params = MeasurementParams.model_validate(lot["measurement"]["params"])
    m = measure(ev, opened_at=datetime.fromisoformat(lot["opened_at"]),
                closed_at=datetime.fromisoformat(lot["closed_at"]), params=params)
    assert json.loads(m.model_dump_json()) == lot["measurement"]  # what an old gateway received, value for value


@pytest.mark.parametrize("lot", RELEASE1, ids=[f"{x['scenario']}-{i}" for i, x in enumerate(RELEASE1)])
def test_release1_measurement_validates_and_round_trips(lot: dict[str, Any]) -> None:
    parsed = Measurement.model_validate(lot["measurement"])
    assert json.loads(parsed.model_dump_json()) == lot["measurement"]
    assert read_measurement(lot["measurement"]) == parsed


def test_named_layout_survives_the_agent_state_round_trip() -> None:
    lot = OpenLot(lot_id="L-1", opened_at=datetime.fromisoformat(RELEASE1[0]["opened_at"]),
                  evidence=LotEvidence.model_validate(RELEASE1[0]["evidence"]))
    state = json.loads(json.dumps(lot.to_state()))
    assert state["evidence"]["v"] == 2 and isinstance(state["evidence"]["conveyor"], dict)
    assert OpenLot.from_state(state).evidence == lot.evidence


def test_release1_open_lot_state_resumes() -> None:
    """An agent outbox written by release 1 holds the open lot with positional evidence."""
    old = {"lot_id": "L-7", "opened_at": "2026-01-01T00:00:00+00:00", "net_mass_kg": 12.5, "n_weighings": 1,
           "devices": ["scale"], "device_kinds": {"weighing": 1},
           "evidence": {"v": 1, "objects": {"PP": [2, 800.0, 320000.0]}, "unidentified": 1,
                        "xrf": {"Br": [[None, 2.0, True], [2500.0, 30.0, False]]},
                        "conveyor": [10.0, 1.0, 50.0, 5.0, 1], "models": {"TV-1": 2},
                        "sorter": {"intervals": 1, "not_running_s": 0.0, "alarms": []},
                        "activity": {"scale": {"kind": "weighing", "n": 1, "first": 1.0, "last": 1.0,
                                               "max_gap_s": 0.0}},
                        "zero": {"scale": [0.0, 0.02]}, "weighings": [[12.5, 3.0]]}}
    ev = OpenLot.from_state(old).evidence
    assert ev.objects["PP"].n == 2 and ev.objects["PP"].s2 == 800.0
    assert ev.xrf["Br"][0].below_lod and ev.xrf["Br"][1].ppm == 2500.0
    assert ev.conveyor.dark_area == 5.0 and ev.conveyor.intervals == 1
    assert ev.zero["scale"].hi == 0.02 and ev.weighings[0].tare_kg == 3.0
    add_weighing(ev, "scale", datetime.fromisoformat("2026-01-01T00:10:00+00:00"), 10.0, 3.0)
    assert measure(ev, opened_at=datetime.fromisoformat(old["opened_at"]),
                   closed_at=datetime.fromisoformat("2026-01-01T00:20:00+00:00")).net_mass_kg == 22.5


def test_positional_evidence_with_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValidationError):
        LotEvidence.model_validate({"v": 1, "conveyor": [1.0, 2.0]})


def _summary(measurement: Any) -> dict[str, Any]:
    return {"lot_id": "L-1", "site": "s", "line": "l", "agent": "a", "status": "closed",
            "opened_at": "2026-01-01T00:00:00Z", "measurement": measurement}


@pytest.mark.parametrize("wire", [{}, {"live_mass_kg": 80.25}, {"method": "junkan.measurement/1", "error": "x"},
                                  RELEASE1[0]["measurement"]])
def test_every_form_an_old_agent_sends_validates_and_is_sent_back_unchanged(wire: dict[str, Any]) -> None:
    summary = LotSummary.model_validate(_summary(wire))
    assert json.loads(summary.model_dump_json())["measurement"] == wire


def test_new_agent_sends_the_forms_an_old_gateway_stored() -> None:
    t0 = datetime.fromisoformat("2026-01-01T00:00:00+00:00")
    ev = LotEvidence()
    add_reading(ev, "nir", "nir_object", t0, {"polymer": "PP", "size_mm": 20})
    add_weighing(ev, "scale", t0 + timedelta(seconds=5), 10.0, 2.0)
    m = measure(ev, opened_at=t0, closed_at=t0 + timedelta(seconds=10))
    for model, kind in ((m, Measurement), (MeasurementFailure(error="ValueError()"), MeasurementFailure),
                        (LiveMass(), LiveMass), (LiveMass(live_mass_kg=3.5), LiveMass)):
        summary = LotSummary.model_validate(_summary(model))
        sent = json.loads(dump(summary))["measurement"]
        assert sent == json.loads(model.model_dump_json())
        assert type(parse_lot_measurement(sent)) is kind
    assert json.loads(dump(LotSummary.model_validate(_summary(LiveMass()))))["measurement"] == {}
    assert "ci95_all_pieces" not in json.loads(m.model_dump_json())["composition"]["by_mass"]["PP"]  # no camera


def test_a_malformed_measurement_is_refused_at_the_wire() -> None:
    bad = dict(RELEASE1[0]["measurement"], composition={"n_objects": "many"})
    with pytest.raises(ValidationError):
        LotMessage.model_validate({"msg_id": "01HZZZZZZZZZZZZZZZZZZZZZZZ", "agent": "a",
                                   "session": "01HZZZZZZZZZZZZZZZZZZZZZZZ", "seq": 1, "sent_at": "2026-01-01T00:00:00Z",
                                   "body": {"event": "closed", "lot": _summary(bad)}})
    with pytest.raises(ValidationError):
        parse_lot_measurement({"live_mass_kg": 1.0, "extra": 2})


def test_the_upgrade_fixtures_open_lot_resumes_with_its_readings() -> None:
    """tests/upgrade/fixtures: the open lot an agent of release 0.1.0 left in its outbox (positional layout)."""
    manifest = json.loads((Path(__file__).parents[1] / "upgrade" / "fixtures" / "manifest.json").read_text())
    state = manifest["outbox"]["state"]["open_lot"]
    old = state["evidence"]
    ev = OpenLot.from_state(state).evidence
    assert old["v"] == 1 and ev.v == 2
    assert {p: [s.n, s.s2, s.s4] for p, s in ev.objects.items()} == old["objects"]
    assert [[w.net_kg, w.tare_kg] for w in ev.weighings] == old["weighings"]
    assert {e: [[s.ppm, s.error, s.below_lod] for s in spots] for e, spots in ev.xrf.items()} == old["xrf"]
    assert [ev.conveyor.count, ev.conveyor.dark_count, ev.conveyor.area, ev.conveyor.dark_area,
            ev.conveyor.intervals] == old["conveyor"]
    m = measure(ev, opened_at=datetime.fromisoformat(state["opened_at"]),
                closed_at=datetime.fromisoformat(state["opened_at"]) + timedelta(minutes=1))
    assert m.net_mass_kg == pytest.approx(state["net_mass_kg"]) and m.composition.by_count["PP"].n == 7
    assert m.contaminants["Cd"].n_below_lod == 3 and m.contaminants["Br"].max_ppm == 41.1
