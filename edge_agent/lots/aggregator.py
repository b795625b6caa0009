"""Lots on one line (pure: commands and weighings in, lot summaries out; time is passed in).

A weighing belongs to the lot that is open when the container is removed from the scale. Lots open and
close by operator command, or close automatically at a configured mass or duration. Its state is a plain
dict (the evidence as ``LotEvidence`` JSON) so the agent can persist it beside the outbox and resume an
open lot after a restart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from edge_agent.lots.weighing import WeighingEvent
from junkan.core import measurement
from junkan.core.lot_evidence import LotEvidence

CloseReason = Literal["operator", "max_mass", "max_duration", "shutdown"]


@dataclass(frozen=True)
class LotPolicy:
    max_mass_kg: float | None = None
    max_duration_s: float | None = None
    auto_open: bool = True


@dataclass
class OpenLot:
    lot_id: str
    opened_at: datetime
    net_mass_kg: float = 0.0
    n_weighings: int = 0
    devices: set[str] = field(default_factory=set)
    device_kinds: dict[str, int] = field(default_factory=dict)
    evidence: LotEvidence = field(default_factory=measurement.new_evidence)  # what the measurement needs

    def clock_stepped(self, step_s: float) -> None:
        """The wall clock jumped by ``step_s``: move the instants held (open time, when each device spoke)
        so the lot's duration and its devices' silences stay true, and record the step (the lot is flagged)."""
        self.opened_at += timedelta(seconds=step_s)
        for act in self.evidence.activity.values():
            act.first += step_s
            act.last += step_s
        self.evidence.clock_steps_s.append(round(step_s, 3))

    def to_state(self) -> dict[str, Any]:
        return {
            "lot_id": self.lot_id,
            "opened_at": self.opened_at.isoformat(),
            "net_mass_kg": self.net_mass_kg,
            "n_weighings": self.n_weighings,
            "devices": sorted(self.devices),
            "device_kinds": self.device_kinds,
            "evidence": self.evidence.model_dump(mode="json"),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> OpenLot:
        return cls(
            lot_id=state["lot_id"],
            opened_at=datetime.fromisoformat(state["opened_at"]),
            net_mass_kg=float(state["net_mass_kg"]),
            n_weighings=int(state["n_weighings"]),
            devices=set(state["devices"]),
            device_kinds=dict(state.get("device_kinds", {})),
            evidence=LotEvidence.model_validate(state.get("evidence") or {}),  # release 1 layout too
        )


@dataclass(frozen=True)
class LotClosed:
    lot: OpenLot
    closed_at: datetime
    reason: CloseReason


@dataclass(frozen=True)
class LotOpened:
    lot: OpenLot


LotEvent = LotOpened | LotClosed


@dataclass
class LotAggregator:
    policy: LotPolicy
    new_lot_id: Any  # Callable[[datetime], str]; injected so tests can be deterministic
    current: OpenLot | None = None

    def open(self, ts: datetime, lot_id: str | None = None) -> list[LotEvent]:
        """Open a lot; an already open lot with another id is closed first (operator switched lots)."""
        if self.current is not None and (lot_id is None or self.current.lot_id == lot_id):
            return []
        events: list[LotEvent] = []
        if self.current is not None:
            events.append(self._close(ts, "operator"))
        self.current = OpenLot(lot_id=lot_id or self.new_lot_id(ts), opened_at=ts)
        events.append(LotOpened(self.current))
        return events

    def close(self, ts: datetime, reason: CloseReason = "operator", lot_id: str | None = None) -> list[LotEvent]:
        if self.current is None or (lot_id is not None and lot_id != self.current.lot_id):
            return []
        return [self._close(ts, reason)]

    def add_weighing(self, weighing: WeighingEvent) -> tuple[str | None, list[LotEvent]]:
        """Count a weighing in the open lot (opening one if the policy says so); returns its lot id."""
        events: list[LotEvent] = []
        if self.current is None:
            if not self.policy.auto_open:
                return None, events
            events += self.open(weighing.ended_at)
        lot = self.current
        assert lot is not None
        lot.devices.add(weighing.device)
        if weighing.status == "ok":
            lot.net_mass_kg = round(lot.net_mass_kg + weighing.net_kg, 6)
            lot.n_weighings += 1
            measurement.add_weighing(lot.evidence, weighing.device, weighing.ended_at, weighing.net_kg,
                                     weighing.tare_kg)
        else:  # its mass is not known: kept out of the lot's mass, and the lot says so
            measurement.add_weighing_issue(lot.evidence, weighing.device, weighing.ended_at,
                                           weighing.reason or "degraded", weighing.net_upper_kg)
        lot_id = lot.lot_id
        events += self.tick(weighing.ended_at)
        return lot_id, events

    def note_device(self, device: str, kind: str) -> str | None:
        """Record that a device contributed a reading to the open lot; returns the lot id."""
        if self.current is None:
            return None
        self.current.devices.add(device)
        self.current.device_kinds[kind] = self.current.device_kinds.get(kind, 0) + 1
        return self.current.lot_id

    def note_reading(self, device: str, kind: str, ts: datetime, data: dict[str, Any]) -> str | None:
        """Like ``note_device``, and fold the reading into the lot's measurement evidence."""
        lot_id = self.note_device(device, kind)
        if self.current is not None:
            measurement.add_reading(self.current.evidence, device, kind, ts, data)
        return lot_id

    def note_zero(self, device: str, ts: datetime, value_kg: float) -> bool:
        """A stable empty-platform reading during the open lot (zero-drift check); True when it widened the
        lot's zero range (then the agent checkpoints the lot soon)."""
        if self.current is None:
            return False
        before = self.current.evidence.zero.get(device)
        measurement.add_zero(self.current.evidence, device, ts, value_kg)
        return self.current.evidence.zero.get(device) != before

    def tick(self, now: datetime) -> list[LotEvent]:
        """Apply automatic close rules."""
        lot, policy = self.current, self.policy
        if lot is None:
            return []
        if policy.max_mass_kg is not None and lot.net_mass_kg >= policy.max_mass_kg:
            return [self._close(now, "max_mass")]
        if policy.max_duration_s is not None and (now - lot.opened_at).total_seconds() >= policy.max_duration_s:
            return [self._close(now, "max_duration")]
        return []

    def _close(self, ts: datetime, reason: CloseReason) -> LotClosed:
        assert self.current is not None
        closed = LotClosed(self.current, ts, reason)
        self.current = None
        return closed
