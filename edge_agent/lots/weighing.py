"""From a stream of weight frames to container weighings (pure: frames in, weighings out).

A platform scale under a chute sees: empty (≈0) -> container placed (stable tare) -> filling (motion)
-> full (stable gross) -> removed (back to ≈0). A weighing is emitted when the scale returns to zero,
with net = last stable gross - first stable tare. "Stable" means N consecutive frames the device marked
stable that agree within ±1 division; their mean is the stable value. Overload, underload and error
frames break a stable run and never become a mass.
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

    def _on_stable(self, ts: datetime, value: float) -> WeighingEvent | None:
        self._last_stable = value
        loaded = value > self.zero_band_kg
        if loaded and self._tare is None:
            self._tare, self._gross, self._started = value, value, ts
            return None
        if loaded:
            self._gross = value
            return None
        if self._tare is not None and self._gross is not None and self._started is not None:
            event = WeighingEvent(
                device=self.device,
                tare_kg=round(self._tare, 6),
                gross_kg=round(self._gross, 6),
                net_kg=round(self._gross - self._tare, 6),
                started_at=self._started,
                ended_at=ts,
            )
            self._tare = self._gross = self._started = None
            return event
        return None

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
