"""Pure page logic: device liveness, alarms, chart geometry, contaminant flags, lineage columns, labels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.dashboard import views
from gateway.dashboard.i18n import LABELS, LANGS, translator
from junkan.core.evidence import Flow, Lineage, StepBalance
from junkan.core.measurement_model import Measurement
from tests.dashboard.seed import MEASUREMENT
from tests.measurements import wire_measurement

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
MEASURED = Measurement.model_validate(MEASUREMENT)


def agent(state: str = "online", at: datetime = NOW, **kw: object) -> dict[str, object]:
    return {"agent": "ag-1", "site": "s", "line": "line-1", "state": state, "at": at.isoformat(),
            "outbox_depth": 0, "outbox_oldest_age_s": 0.0, "alarms": [], "open_lot": None, **kw}


def device(state: str = "alive", **kw: object) -> dict[str, object]:
    return {"agent": "ag-1", "device": "scale-1", "site": "s", "line": "line-1", "state": state, "frames_ok": 5,
            "frames_bad": 0, "last_reading_at": NOW.isoformat(), "last_error": None, **kw}


def test_device_state_follows_the_agent() -> None:
    assert views.device_state(device(), agent(), NOW) == "alive"
    assert views.device_state(device(), agent("offline"), NOW) == "offline"
    assert views.device_state(device(), agent(at=NOW - timedelta(minutes=5)), NOW) == "stale"
    assert views.device_state(device("error"), agent(), NOW) == "error"
    assert views.device_state(device("bogus"), agent(), NOW) == "stale"


def test_line_overview_and_live_payload_show_the_open_lot() -> None:
    lot = {"lot_id": "L-9", "site": "s", "line": "line-1", "agent": "ag-1", "status": "open",
           "opened_at": NOW.isoformat(), "net_mass_kg": 50.0, "n_weighings": 1, "measurement": {"live_mass_kg": 80.25}}
    lines = views.line_overview([agent(open_lot=lot)], [device(frames_bad=3)], NOW)
    assert [line.line for line in lines] == ["line-1"]
    assert lines[0].open_lot is not None and lines[0].open_lot.live_mass_kg == 80.25
    assert views.open_lot_view(agent(open_lot={"lot_id": "L-9"})) is None  # not a lot summary: nothing shown
    live = views.live_payload([agent(open_lot=lot)], [device(frames_bad=3)], NOW)
    assert live["line-1"]["lot_id"] == "L-9" and live["line-1"]["devices"]["ag-1/scale-1"]["frames_bad"] == 3
    offline = views.live_payload([agent("offline", open_lot=lot)], [device()], NOW)
    assert offline["line-1"]["lot_id"] is None  # an offline agent's last open lot is not shown as live


def test_contaminant_flags() -> None:
    rows = {r.element: r for r in views.contaminant_rows(MEASURED)}
    assert rows["Br"].flag == "over" and rows["Br"].threshold_ppm == 2000.0
    assert rows["Cd"].flag == "ok"
    assert views.flag(50.0, 90.0, 0.02, 100.0) == "some"
    assert views.flag(None, None, None, 100.0) is None
    assert views.contaminant_rows(None) == []
    unmeasured = wire_measurement(contaminants={"Pb": {"n": 0, "mean_ppm": None, "p95_ppm": None, "max_ppm": None,
                                                       "thresholds": {"1000": {"fraction_above": 0.0}}}})
    assert views.contaminant_rows(Measurement.model_validate(unmeasured))[0].flag is None


def test_composition_bars_geometry_is_proportional_with_ci() -> None:
    chart = views.composition_bars(MEASURED, "by_count")
    assert chart is not None
    pp, abs_ = chart.bars
    assert (pp.name, abs_.name) == ("PP", "ABS")  # largest first
    assert abs(pp.bar_w / abs_.bar_w - 0.8 / 0.2) < 1e-6
    assert pp.ci_x1 < pp.x0 + pp.bar_w < pp.ci_x2
    assert views.composition_bars(None, "by_mass") is None
    unseen = wire_measurement(composition={"by_mass": {}, "by_count": {}})
    assert views.composition_bars(Measurement.model_validate(unseen)) is None


def test_alarms_cover_spec_device_outbox_and_balance() -> None:
    lots = [{"lot_id": "A-1", "opened_at": NOW.isoformat(), "closed_at": None, "measurement": MEASUREMENT}]
    found = views.alarms([agent(outbox_depth=5000, alarms=["outbox full"])], [device("error", last_error="crc")],
                         lots, [{"scope": "step", "ref": "S-1", "raised_at": NOW.isoformat(), "detail": "3 % lost"}],
                         NOW)
    kinds = sorted(a.kind for a in found)
    assert kinds == ["agent", "balance", "device", "outbox", "spec"]
    assert views.alarms([agent()], [device()], [], [], NOW) == []
    period = views.alarms([], [], [], [{"scope": "period", "ref": "2026-11-01/2026-12-01", "raised_at": NOW.isoformat(),
                                        "detail": "x"}], NOW)[0]
    assert (period.scope, period.where) == ("period", "2026-11-01/2026-12-01")  # "period" is translated on the page


def walked(lot_id: str, steps: dict[str, tuple[list[str], list[str]]], bad: tuple[str, ...] = ()) -> Lineage:
    """A lineage whose steps (id -> input lots, output lots) each moved 1 kg per lot."""
    return Lineage(lot_id=lot_id, lot_mass_kg=1.0, source_input_mass_kg=1.0, unattributed_kg=0.0, sources=[],
                   models=[], plants=[], steps=[StepBalance(
                       step_id=step, kind="shredding", plant=None, site=None, ended_at=NOW.isoformat(),
                       balance_ok=step not in bad, input_mass_kg=len(ins), output_mass_kg=len(outs),
                       declared_loss_kg=0.0, inputs=[Flow(lot_id=x, mass_kg=1.0) for x in ins],
                       outputs=[Flow(lot_id=x, mass_kg=1.0) for x in outs]) for step, (ins, outs) in steps.items()])


def test_lineage_layout_puts_sources_above_outputs() -> None:
    layout = views.lineage_layout(walked("OUT-1", {"S1": (["IN-1", "IN-2"], ["OUT-1"])}, bad=("S1",)))
    assert layout is not None
    y = {n.id: n.y for n in layout.nodes}
    assert y["IN-1"] == y["IN-2"] < y["S1"] < y["OUT-1"]
    assert len(layout.edges) == 3 and next(n for n in layout.nodes if n.is_self).id == "OUT-1"
    assert [(n.kind, n.balance_ok, n.step_kind) for n in layout.nodes if n.id == "S1"] == [("step", False, "shredding")]
    assert views.lineage_layout(None) is None and views.lineage_layout(walked("L", {})) is None


def test_every_label_has_both_languages() -> None:
    missing = [key for key, entry in LABELS.items() for lang in LANGS if not entry.get(lang)]
    assert missing == []
    assert translator("ja")("lots") == "ロット" and translator("xx")("lots") == "Lots"
    assert translator("en")("no-such-key") == "no-such-key"


def test_lineage_of_a_scenario_lot_fits_a_phone() -> None:
    """intake -> dismantling -> shredding -> sorting, each with a side output: 2 boxes wide, not 7 columns."""
    steps, prev = {}, "L-IN"
    for i, (main, side) in enumerate([("L-FEED", "L-REMOVED"), ("L-FLAKES", "L-MET"), ("L", "L-REJ")]):
        steps[f"S{i}"] = ([prev], [main, side])
        prev = main
    layout = views.lineage_layout(walked("L", steps))
    assert layout is not None and layout.width <= 400 < layout.height


def test_censored_values_render_as_lod_everywhere() -> None:
    from junkan.core.censored import ppm_text

    assert ppm_text(2.0, 29, 29, 5.0) == "<LOD (5)"  # all below LOD: the KM mean is a placement, not a value
    assert ppm_text(None, 29, 3, 5.0) == "<LOD (5)"  # a p95 that is itself below a LOD
    assert ppm_text(1234.4, 29, 3, 5.0) == "1,234"
    assert ppm_text(None, 0, 0, None) == "–"


def test_trend_charts_from_stored_lots() -> None:
    from gateway.dashboard import charts
    from tests.dashboard.seed import MEASUREMENT

    lots = [{"lot_id": f"L{i}", "status": "closed", "net_mass_kg": 100.0 + i, "measurement": MEASUREMENT,
             "closed_at": f"2026-11-28T0{8 + i // 2}:{10 * (i % 2):02d}:00+00:00"} for i in range(4)]
    purity = charts.purity_trend(lots)
    assert purity is not None and purity.legend == {"polymer": "PP", "n": 4} and len(purity.polygons) == 1
    assert [r["href"] for r in purity.rects] == ["/lots/L0", "/lots/L1", "/lots/L2", "/lots/L3"]  # oldest left
    throughput = charts.throughput_per_hour(lots)
    assert throughput is not None and [r["title"] for r in throughput.rects] == ["11-28 08:00: 201.0 kg",
                                                                                  "11-28 09:00: 205.0 kg"]
    br = charts.contaminant_vs_limit(lots)
    assert br is not None and any(line["cls"] == "limit" for line in br.lines)
    assert all("over" in r["cls"] for r in br.rects)  # mean 2,500 >= 2,000 ppm
    live = charts.device_liveness(lots)
    assert live is not None and {c["state"] for c in live.cells} == {"ok"}
    assert charts.nice_top(226) == 250 and charts.nice_top(0.4) == 0.5 and charts.purity_trend([]) is None


def test_every_process_step_kind_has_its_japanese_word() -> None:
    """The lineage graph names a step by its kind: each kind a step may have is a label in both languages
    (a missing one showed as ``step_regeneration``), and the word is the evidence page's and certificate's."""
    from typing import get_args

    from gateway.specs.reason_text import term
    from junkan.core.traceability import StepIn

    kinds = get_args(StepIn.model_fields["kind"].annotation)
    en, ja = translator("en"), translator("ja")
    assert "regeneration" in kinds
    for kind in kinds:
        assert en("step_" + kind) == kind
        assert ja("step_" + kind) == term(kind, "ja") and not any("a" <= c <= "z" for c in ja("step_" + kind))
