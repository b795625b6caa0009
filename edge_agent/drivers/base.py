"""What every device driver is: a decoder (pure, bytes in -> readings out) plus a runner (I/O).

Decoders never raise: a frame they cannot understand becomes a ``BadFrame`` with the reason, which the
runner counts per device (visible in the agent status) and logs. Runners never raise out of ``run``:
they reconnect with backoff until ``stop`` is set.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from edge_agent.clock import wall_now
from junkan.core.names import NAME_PATTERN

Status = Literal["ok", "unstable", "overload", "underload", "error", "degraded"]
DeviceState = Literal["alive", "stale", "error", "starting", "unavailable"]


WEIGHT_DATA = ("mode", "tare_kg", "reason")  # a weight frame's details kept in its offline form


@dataclass(frozen=True)
class DeviceReading:
    """One decoded reading, before the agent gives it a device name, sequence number and lot."""

    kind: str
    value: float | None = None
    unit: str | None = None
    status: Status | None = None
    stable: bool | None = None
    data: dict[str, Any] = field(default_factory=dict)
    ts: datetime | None = None  # filled by the runner when the decoder does not know the device time
    raw: bytes = b""
    # A source position (e.g. last event id, file done) the agent persists in the same outbox transaction
    # as this reading; given back to the runner after a restart so a resumable source neither loses nor
    # repeats readings across an agent crash.
    checkpoint: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        """The documented offline form printed by `junkan agent decode` and kept in golden cases."""
        out: dict[str, Any] = {"kind": self.kind}
        if self.kind == "weight":
            out.update(value=self.value, unit=self.unit, stable=bool(self.stable), status=self.status)
            out.update({k: self.data[k] for k in WEIGHT_DATA if k in self.data})
        else:
            if self.value is not None:
                out.update(value=self.value, unit=self.unit)
            if self.status is not None:
                out["status"] = self.status
            out.update(self.data)
        return out


@dataclass(frozen=True)
class BadFrame:
    """Bytes a decoder could not turn into a reading, kept with the reason."""

    reason: str
    raw: bytes = b""


Decoded = DeviceReading | BadFrame


class Decoder(Protocol):
    """Streaming, pure: feed any chunk of bytes (partial frames included), get what is complete."""

    def feed(self, chunk: bytes) -> list[Decoded]: ...


class DeviceConfigBase(BaseModel):
    """Fields every device has; each driver's config adds its own and a ``type`` literal."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN, description="Device name, unique per agent.")
    stale_after_s: float = Field(
        default=10.0, gt=0, description="No valid frame for this long marks the device stale in the status."
    )


@dataclass
class DeviceCounters:
    """Health counters a runner keeps; read by the status publisher (plain ints, GIL-safe)."""

    frames_ok: int = 0
    frames_bad: int = 0
    reconnects: int = 0
    last_reading_at: datetime | None = None
    last_error: str | None = None
    connected: bool = False
    # Set while another process holds the device (a serial port locked by someone else): the device is
    # "unavailable", and ``alarm`` (naming the holder) goes into the agent's alarms.
    alarm: str | None = None

    def fail(self, reason: str, context: str = "") -> None:
        """The connection is lost or cannot be opened: shown as ``error`` in the status, logged once."""
        self.connected = False
        self.last_error = reason
        log.warning("%s%s", f"{context}: " if context else "", reason)

    def held_elsewhere(self, alarm: str) -> None:
        """Another process holds the device: nothing is read; logged when it starts, not on every retry."""
        self.connected = False
        if self.alarm != alarm:
            log.error("%s", alarm)
        self.alarm = self.last_error = alarm

    def state(self, stale_after_s: float, now: datetime | None = None) -> DeviceState:
        now = now or wall_now()
        if self.alarm is not None:
            return "unavailable"
        if not self.connected and self.last_error:
            return "error"
        if self.last_reading_at is None:
            return "starting"
        if (now - self.last_reading_at).total_seconds() > stale_after_s:
            return "stale"
        return "alive"


Emit = Callable[[DeviceReading], None]


class Runner(Protocol):
    """The I/O half of a driver. ``run`` blocks until ``stop`` is set and never raises."""

    counters: DeviceCounters

    def run(self, emit: Emit, stop: threading.Event) -> None: ...

    def send(self, command: bytes) -> None: ...


class Backoff:
    """Reconnect delays: 0.5 s doubling to a cap, reset after a good connection."""

    def __init__(self, first: float = 0.5, cap: float = 10.0) -> None:
        self.first, self.cap, self.current = first, cap, first

    def wait(self, stop: threading.Event) -> None:
        stop.wait(self.current)
        self.current = min(self.cap, self.current * 2)

    def reset(self) -> None:
        self.current = self.first


class Closable(Protocol):
    def close(self) -> None: ...


def keep_connected(stop: threading.Event, counters: DeviceCounters, session: Callable[[Backoff], bool],
                   io_errors: tuple[type[BaseException], ...], io_reason: Callable[[BaseException], str],
                   what: str, context: str = "", capture: Closable | None = None) -> None:
    """The reconnect loop of every runner, so none can differ in how a loss is counted: ``session`` runs
    until ``stop``; a lost link (``io_errors``, reason from ``io_reason``) or a bug is counted on
    ``counters`` and logged, never raised (it would kill the device thread); the next try waits with
    backoff. ``session`` returns False when it never got the device (no reconnect to count); it resets the
    backoff once data flows. ``capture`` is closed when the loop ends."""
    backoff = Backoff()
    try:
        while not stop.is_set():
            try:
                got_device = session(backoff)
            except io_errors as exc:
                counters.fail(io_reason(exc), context)
                got_device = True
            except Exception as exc:  # a decoder or driver bug must not kill the device thread
                log.exception("%s failed", what)
                counters.fail(f"internal: {exc!r}", context)
                got_device = True
            if not stop.is_set():
                if got_device:
                    counters.reconnects += 1
                backoff.wait(stop)
    finally:
        if capture is not None:
            capture.close()


log = logging.getLogger("junkan.drivers")
