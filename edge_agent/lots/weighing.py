"""From a stream of weight frames to container weighings (pure: frames in, weighings out).

A platform scale under a chute sees: empty (≈0) -> container placed (stable tare) -> filling (motion)
-> full (stable gross) -> removed (back to ≈0). A weighing is emitted when the scale returns to zero,
with net = last stable gross - first stable tare. "Stable" means N consecutive frames the device marked
stable that agree within ±1 division; their mean is the stable value. Overload, underload and error
frames break a stable run and never become a mass.

Zero tracking: "empty" is judged against the last stable empty reading, not against 0, so a scale whose
zero drifts (temperature, material caked on the platform) still sees containers come and go. When the
empty readings before and after a container differ by more than one division, the zero is taken to move
linearly between them and the part that moved between the tare and the gross instants (``drift_kg``) is
taken off the net. Tare, gross, both zeros and the drift stay on the weighing, and the agent records every
empty reading, so the lot is still flagged for zero drift; the correction is shown, never hidden.
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
    zero_after_kg: float = 0.0  # the empty reading once it was removed
    drift_kg: float = 0.0  # zero movement between the tare and gross instants, taken off net_kg


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
    _zero_at: datetime | None = None
    _tare_zero: tuple[float, datetime | None] = (0.0, None)
    _gross_at: datetime | None = None

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
            self._tare, self._gross, self._started = value, value, ts
            self._tare_zero, self._gross_at = (self._zero, self._zero_at), ts
            return None
        if loaded:
            self._gross, self._gross_at = value, ts
            return None
        self._zero, self._zero_at = value, ts  # stable and empty: the new zero reference
        if self._tare is not None and self._gross is not None and self._started is not None:
            drift = self._drift(value, ts)
            event = WeighingEvent(
                device=self.device,
                tare_kg=round(self._tare, 6),
                gross_kg=round(self._gross, 6),
                net_kg=round(self._gross - self._tare - drift, 6),
                started_at=self._started,
                ended_at=ts,
                zero_kg=round(self._tare_zero[0], 6),
                zero_after_kg=round(value, 6),
                drift_kg=round(drift, 6),
            )
            self._tare = self._gross = self._started = None
            return event
        return None

    def _drift(self, zero_after: float, after_at: datetime) -> float:
        """Zero movement between the tare and gross instants, assuming it moved linearly from the empty
        reading before the container to the one after it; 0 within one division (that is noise)."""
        zero_before, before_at = self._tare_zero
        if (before_at is None or self._started is None or self._gross_at is None
                or abs(zero_after - zero_before) <= self.division_kg + 1e-9):
            return 0.0
        span = (after_at - before_at).total_seconds()
        if span <= 0:
            return 0.0
        return (zero_after - zero_before) * (self._gross_at - self._started).total_seconds() / span

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
