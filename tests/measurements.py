"""Complete ``junkan.measurement/1`` documents for tests that care about a few numbers only.

A lot's measurement is a typed document (``junkan.core.measurement_model.Measurement``): an agent cannot
send half of one. ``wire_measurement`` starts from a real ``measure()`` result and sets the sections a
test names; maps keyed by polymer, element or limit keep exactly the keys the test gives.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from junkan.core.measurement import add_reading, add_weighing, measure, new_evidence
from junkan.core.measurement_model import Measurement

_T0 = datetime(2026, 1, 1, tzinfo=UTC)
_KEYED = {"by_count", "by_mass", "thickness", "contaminants", "thresholds"}


def _template() -> dict[str, Any]:
    ev = new_evidence()
    for i, (polymer, size) in enumerate([("PP", 20.0), ("ABS", 18.0)] * 10):
        add_reading(ev, "nir-1", "nir_object", _T0 + timedelta(seconds=i), {"polymer": polymer, "size_mm": size})
    for i, ppm in enumerate((40.0, 120.0, 180.0)):
        add_reading(ev, "xrf-1", "xrf", _T0 + timedelta(seconds=i),
                    {"elements": {"Br": {"ppm": ppm, "error": 2.0}, "Cd": {"ppm": None, "below_lod": True}}})
    add_reading(ev, "cam-1", "conveyor", _T0, {"count": 50, "occupancy_pct": 4, "dark_count_share": 0.02,
                                               "dark_area_share": 0.015, "interval_s": 1})
    add_weighing(ev, "scale-1", _T0 + timedelta(seconds=20), 7.0, 2.0)
    return measure(ev, opened_at=_T0, closed_at=_T0 + timedelta(seconds=20)).model_dump(mode="json")


def _merge(base: Any, override: Any, key: str = "") -> Any:
    if not isinstance(override, dict) or not isinstance(base, dict):
        return override
    if key in _KEYED:
        sample = next(iter(base.values()), {})
        return {k: _merge(base.get(k, sample), v) for k, v in override.items()}
    return {k: _merge(v, override[k], k) if k in override else v for k, v in base.items()} | \
        {k: v for k, v in override.items() if k not in base}


def wire_measurement(**sections: Any) -> dict[str, Any]:
    """A valid measurement (JSON form) with ``sections`` set, e.g. ``contaminants={"Br": {"max_ppm": 180.0}}``."""
    doc = _merge(_template(), sections)
    return Measurement.model_validate(doc).model_dump(mode="json")
