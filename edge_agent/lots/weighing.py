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

Continuity: a tare is only a tare if the detector saw the platform empty just before, without a gap in
the frames (agent restart, serial link lost, frames stolen). A container already on the platform when
the frames come back has an unknown tare: unless the load is explained (the checkpointed container,
still filling; or a load within the configured empty-container tare), its weighing is ``degraded`` with
reason ``tare_unknown`` and counts for nothing in the lot's mass — never a 0 kg or a gross-as-net "ok".

Net mode (the operator keyed the tare on the indicator): a net frame is never read as gross. With the
indicator's tare known — given in the frame (Toledo tare field, MT-SICS tare replies), or seen being
keyed (``edge_agent/lots/net_mode.py``) — the frame becomes gross = net + tare and goes through the same
machine; a weighing with a net frame in it has ``mode`` net.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from edge_agent.clock import wall_now
from edge_agent.lots import net_mode

WeighingStatus = Literal["ok", "degraded"]


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
    status: WeighingStatus = "ok"
    reason: str | None = None  # why degraded: tare_unknown, gross_unknown, no_net_mass, zero_shift
    net_upper_kg: float | None = None  # for a degraded weighing: the most its net can be (gross - zero)
    mode: Literal["gross", "net"] = "gross"  # net: the indicator's tare was keyed for (part of) this container


@dataclass
class WeighingDetector:
    """State machine over one scale's frames. ``zero_band_kg`` separates "empty" from "loaded".

    ``empty_tare_kg``: the (min, max) tare of the plant's empty containers, if known; a load in that
    range after a gap is taken as a container just placed, so its tare is known."""

    device: str
    division_kg: float
    stable_frames: int = 3
    zero_band_kg: float = 0.5
    empty_tare_kg: tuple[float, float] | None = None
    resume_max_gap_s: float = 20.0  # a container seen before a longer gap may have been swapped: never resumed
    _run: list[float] = field(default_factory=list)
    _tare: float | None = None
    _gross: float | None = None
    _started: datetime | None = None
    _last_stable: float | None = None
    _zero: float = 0.0
    _zero_at: datetime | None = None
    _tare_zero: tuple[float, datetime | None] = (0.0, None)
    _gross_at: datetime | None = None
    _continuous: bool = False  # a stable empty reading was seen since the last gap (start = a gap)
    _tare_unknown: bool = False  # the container in hand was first seen loaded after a gap
    _across_gap: bool = False  # the container in hand was on the platform when a gap began
    _gap_s: float = 0.0  # how long the last gap lasted
    _net_mode: net_mode.NetMode = field(default_factory=net_mode.NetMode)
    _frame_net: bool = False  # the frame being handled was a net frame
    _container_net: bool = False  # a net frame was part of the container in hand

    def feed(self, ts: datetime, value: float | None, stable: bool, status: str | None,
             mode: str | None = None, tare_kg: float | None = None) -> WeighingEvent | None:
        """Take one frame; return a completed weighing when the container has just been removed.

        ``mode``/``tare_kg``: what the frame says about the indicator's tare (``data.mode``, ``data.tare_kg``)."""
        self._frame_net = mode == "net"
        if value is not None and status in (None, "ok", "unstable"):
            value, event = self._net_mode.frame(self, ts, value, stable and status in (None, "ok"), mode, tare_kg)
            if value is None:  # a net frame whose tare is not known: weighed in the net domain
                return event
        return self._feed_gross(ts, value, stable, status)

    def _feed_gross(self, ts: datetime, value: float | None, stable: bool, status: str | None) -> WeighingEvent | None:
        if value is None or not stable or status not in (None, "ok"):
            self._run.clear()
            return None
        if self._run and abs(value - self._run[0]) > self.division_kg + 1e-9:
            self._run = []  # a new value starts a new run (with stable_frames=1 it is stable at once)
        self._run.append(value)
        if len(self._run) < self.stable_frames:
            return None
        stable_value = sum(self._run[-self.stable_frames :]) / self.stable_frames
        self._run = self._run[-self.stable_frames :]
        return self._on_stable(ts, stable_value)

    def gap(self, seconds: float = float("inf")) -> None:
        """Frames stopped for ``seconds`` (agent restart, link lost, silence): what happened meanwhile is
        unknown. A container on the platform before it is resumed only after a gap shorter than
        ``resume_max_gap_s`` and only if the load did not drop (a whole container swap fits in a longer one)."""
        self._run.clear()
        self._continuous = False
        if self._tare is not None:
            self._across_gap = True
            self._gap_s = max(self._gap_s, seconds)

    def shift_time(self, by: timedelta) -> None:
        """The wall clock stepped by ``by``: move the instants held so durations stay true."""
        if self._started is not None:
            self._started += by
        if self._zero_at is not None:
            self._zero_at += by
        if self._gross_at is not None:
            self._gross_at += by
        zero, at = self._tare_zero
        self._tare_zero = (zero, at + by if at is not None else None)

    def is_empty(self, value: float) -> bool:
        """Whether a reading counts as an empty platform (within ``zero_band_kg`` of the tracked zero)."""
        return value - self._zero <= self.zero_band_kg

    def _explained_tare(self, value: float) -> bool:
        if self.empty_tare_kg is None:
            return False
        lo, hi = self.empty_tare_kg
        return lo <= value - self._zero <= hi

    def _on_stable(self, ts: datetime, value: float) -> WeighingEvent | None:
        self._last_stable = value
        loaded = not self.is_empty(value)
        if loaded and self._frame_net:
            self._container_net = True
        if loaded and self._tare is None:
            self._tare, self._gross, self._started = value, value, ts
            self._tare_zero, self._gross_at = (self._zero, self._zero_at), ts
            self._tare_unknown = not (self._continuous or self._explained_tare(value))
            self._continuous = True
            return None
        if loaded:
            if self._across_gap:  # the container we had before the gap, if the fill only went on
                self._across_gap = False
                if ((self._gross is not None and value < self._gross - self.division_kg - 1e-9)
                        or self._gap_s > self.resume_max_gap_s):
                    self._tare_unknown = True  # lighter than before, or gone long enough to have been swapped
                self._gap_s = 0.0
            self._continuous = True
            self._gross, self._gross_at = value, ts
            return None
        event = self._complete(ts, value) if self._tare is not None else None
        self._zero, self._zero_at = value, ts  # stable and empty: the new zero reference
        self._continuous = True
        return event

    def _complete(self, ts: datetime, zero_after: float) -> WeighingEvent | None:
        if self._gross is None or self._started is None or self._tare is None:
            return None
        drift = self._drift(zero_after, ts)
        net = self._gross - self._tare - drift
        status: WeighingStatus = "ok"
        reason: str | None = None
        upper: float | None = None
        if self._tare_unknown:
            status, reason = "degraded", "tare_unknown"
            upper = self._gross - self._tare_zero[0]
        elif self._across_gap:
            status, reason = "degraded", "gross_unknown"  # removed during the gap: final gross not seen
            upper = None
        elif net < 2 * self.division_kg:
            status, reason = "degraded", "no_net_mass"  # placed and removed with nothing in it
            upper = max(net, 0.0)
        elif abs(zero_after - self._tare_zero[0]) > self.zero_band_kg:
            # "empty" moved by more than the zero band: not drift but a tare keyed on an indicator that does
            # not say net (the removal then reads -tare), or material left on the platform: no true net
            status, reason = "degraded", "zero_shift"
            upper = self._gross - min(zero_after, self._tare_zero[0])
        event = WeighingEvent(
            device=self.device,
            tare_kg=round(self._tare, 6),
            gross_kg=round(self._gross, 6),
            net_kg=round(net, 6) if status == "ok" else 0.0,
            started_at=self._started,
            ended_at=ts,
            zero_kg=round(self._tare_zero[0], 6),
            zero_after_kg=round(zero_after, 6),
            drift_kg=round(drift, 6),
            status=status,
            reason=reason,
            net_upper_kg=round(upper, 6) if upper is not None else None,
            mode="net" if self._container_net else "gross",
        )
        self._container_net = False
        self._tare = self._gross = self._started = None
        self._tare_unknown = self._across_gap = False
        self._gap_s = 0.0
        return event

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

    # -- checkpoint (persisted in the outbox transaction with the readings) ---------------------------
    def to_state(self) -> dict[str, Any]:
        def iso(t: datetime | None) -> str | None:
            return t.isoformat() if t is not None else None

        return {"tare": self._tare, "gross": self._gross, "started": iso(self._started), "zero": self._zero,
                "zero_at": iso(self._zero_at), "tare_zero": [self._tare_zero[0], iso(self._tare_zero[1])],
                "gross_at": iso(self._gross_at), "tare_unknown": self._tare_unknown,
                "across_gap": self._across_gap, "saved_at": wall_now().isoformat()}

    def restore(self, state: dict[str, Any]) -> None:
        """Resume from a checkpoint; a restart is a gap, so ``gap()`` follows."""
        def dt(s: Any) -> datetime | None:
            return datetime.fromisoformat(s) if isinstance(s, str) else None

        self._tare, self._gross = state.get("tare"), state.get("gross")
        self._started, self._gross_at = dt(state.get("started")), dt(state.get("gross_at"))
        self._zero, self._zero_at = float(state.get("zero") or 0.0), dt(state.get("zero_at"))
        tz = state.get("tare_zero") or [0.0, None]
        self._tare_zero = (float(tz[0]), dt(tz[1]))
        self._tare_unknown = bool(state.get("tare_unknown"))
        self._across_gap = bool(state.get("across_gap"))
        saved = dt(state.get("saved_at"))
        down = (wall_now() - saved).total_seconds() if saved is not None else float("inf")
        self.gap(max(0.0, down))  # a restart is a gap as long as the agent was down (by the wall clock)

    @property
    def holding(self) -> bool:
        """A container is on the platform (its tare taken); the agent checkpoints when this changes."""
        return self._tare is not None

    @property
    def current_kg(self) -> float | None:
        """Last stable value: what the dashboard shows as live mass."""
        return self._last_stable

    @property
    def loaded_net_kg(self) -> float:
        """Net mass of the container on the scale right now (0 when empty or when its tare is unknown)."""
        if self._tare is None or self._gross is None or self._tare_unknown:
            return 0.0
        return self._gross - self._tare
