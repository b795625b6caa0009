"""From a stream of weight frames to container weighings (pure: frames in, weighings out).

A platform scale under a chute sees: empty (≈0) -> container placed (stable tare) -> filling (motion)
-> full (stable gross) -> removed (back to ≈0). A weighing is emitted when the scale returns to zero,
with net = last stable gross - first stable tare. "Stable" means N consecutive frames the device marked
stable that agree within ±1 division; their mean is the stable value. Overload, underload and error
frames break a stable run and never become a mass.

Zero tracking: "empty" is judged against the last stable empty reading, not against 0, so a scale whose
zero drifts (temperature, material caked on the platform) still sees containers come and go. The net
stays gross - tare of the same container; the drift itself is reported (``zero_kg`` on each weighing,
and the agent records every empty reading) so the lot is flagged instead of silently corrected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class WeighingEvent:
    device: str
    tare_kg: float
    gross_kg: float
    net_kg: float
    started_at: datetime
    ended_at: datetime
    zero_kg: float = 0.0  # the tracked empty reading when the container was placed


@dataclass
class WeighingDetector:
    """State machine over one scale's frames. ``zero_band_kg`` separates "empty" from "loaded"."""

    device: str
    division_kg: float
    stable_frames: int = 3
    zero_band_kg: float = 0.5
    _run: list[float] = field(default_factory=list)
    _tare: float | None = None
    _gross: float | None = None
    _started: datetime | None = None
    _last_stable: float | None = None
    _zero: float = 0.0
    _tare_zero: float = 0.0

    def feed(self, ts: datetime, value: float | None, stable: bool, status: str | None) -> WeighingEvent | None:
        """Take one frame; return a completed weighing when the container has just been removed."""
        if value is None or not stable or status not in (None, "ok"):
            self._run.clear()
            return None
        if self._run and abs(value - self._run[0]) > self.division_kg + 1e-9:
            self._run = [value]
            return None
        self._run.append(value)
        if len(self._run) < self.stable_frames:
            return None
        stable_value = sum(self._run[-self.stable_frames :]) / self.stable_frames
        self._run = self._run[-self.stable_frames :]
        return self._on_stable(ts, stable_value)

    def is_empty(self, value: float) -> bool:
        """Whether a reading counts as an empty platform (within ``zero_band_kg`` of the tracked zero)."""
        return value - self._zero <= self.zero_band_kg

    def _on_stable(self, ts: datetime, value: float) -> WeighingEvent | None:
        self._last_stable = value
        loaded = not self.is_empty(value)
        if loaded and self._tare is None:
            self._tare, self._gross, self._started, self._tare_zero = value, value, ts, self._zero
            return None
        if loaded:
            self._gross = value
            return None
        self._zero = value  # stable and empty: the new zero reference
        if self._tare is not None and self._gross is not None and self._started is not None:
            event = WeighingEvent(
                device=self.device,
                tare_kg=round(self._tare, 6),
                gross_kg=round(self._gross, 6),
                net_kg=round(self._gross - self._tare, 6),
                started_at=self._started,
                ended_at=ts,
                zero_kg=round(self._tare_zero, 6),
            )
            self._tare = self._gross = self._started = None
            return event
        return None

    @property
    def zero_kg(self) -> float:
        """The tracked empty reading (0 for a scale that does not drift)."""
        return self._zero

    @property
    def current_kg(self) -> float | None:
        """Last stable value: what the dashboard shows as live mass."""
        return self._last_stable

    @property
    def loaded_net_kg(self) -> float:
        """Net mass of the container on the scale right now (0 when empty)."""
        if self._tare is None or self._gross is None:
            return 0.0
        return self._gross - self._tare
