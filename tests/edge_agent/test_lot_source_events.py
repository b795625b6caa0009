"""Events about a source (Sparkplug/ESPHome node offline, a sequence gap, a counter reset, an active alarm)
flag the lot with the reason; they never pass as a quiet lot (issue 15, found with the new drivers)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from junkan.core import measurement

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def _reasons(ev: measurement.LotEvidence) -> list[str]:
    m = measurement.measure(ev, opened_at=T0, closed_at=T0 + timedelta(minutes=5))
    return [f"{d.device}: {d.reason}" for d in m.devices.degraded]


def test_offline_and_seq_gap_events_flag_the_lot() -> None:
    ev = measurement.new_evidence()
    measurement.add_reading(ev, "spb-scale", "source_event", T0, {"event": "offline", "reason": "NDEATH (bdSeq 0)"})
    measurement.add_reading(ev, "spb-scale", "source_event", T0, {"event": "seq_gap", "missed": 2})
    measurement.add_reading(ev, "spb-scale", "source_event", T0, {"event": "online"})
    reasons = _reasons(ev)
    assert "spb-scale: offline (1x during the lot)" in reasons
    assert "spb-scale: seq_gap (1x during the lot)" in reasons
    assert not any("online" in r for r in reasons)


def test_counter_reset_and_active_alarm_flag_the_lot() -> None:
    ev = measurement.new_evidence()
    for i in range(10):
        measurement.add_reading(ev, "plc", "counter", T0 + timedelta(seconds=30 * i), {"total": i, "reset": False})
    measurement.add_reading(ev, "plc", "counter", T0 + timedelta(seconds=300), {"total": 3, "reset": True})
    measurement.add_reading(ev, "plc", "alarm", T0 + timedelta(seconds=300), {"name": "estop", "active": True})
    reasons = _reasons(ev)
    assert any(r.startswith("plc: counter reset") for r in reasons)
    assert "plc: alarm estop (1x during the lot)" in reasons


def test_a_scale_that_also_sends_events_is_judged_as_a_scale() -> None:
    ev = measurement.new_evidence()
    measurement.add_reading(ev, "spb-scale", "alarm", T0, {"name": "overload", "active": False})
    measurement.add_weighing(ev, "spb-scale", T0 + timedelta(seconds=290), 100.0, 30.0)
    assert ev.activity["spb-scale"].kind == "weighing"
    assert not any("no readings" in r for r in _reasons(ev))  # a scale's silence is not a fault
