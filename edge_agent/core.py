"""The agent's core: one thread that owns all lot state.

Device threads and the MQTT command callback only put events on a queue; this thread turns them into
weighings, lot events and reading batches, and writes them to the outbox together with the agent's
counters in one transaction. One writer, no locks around domain state.
"""

from __future__ import annotations

import json
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from edge_agent.clock import ClockWatch, sync_state, wall_now
from edge_agent.config import AgentConfig
from edge_agent.drivers import DRIVERS
from edge_agent.drivers.base import DeviceReading
from edge_agent.lots.aggregator import LotAggregator, LotClosed, LotEvent, LotOpened, LotPolicy, OpenLot
from edge_agent.lots.weighing import WeighingDetector, WeighingEvent
from edge_agent.publishing.outbox import OutboxFull, OutgoingMessage, SqliteOutbox
from junkan.core import measurement
from junkan.core.ids import new_id
from junkan.core.measurement_model import LiveMass, Measurement, MeasurementFailure
from junkan.core.messages import (
    ClockStatus,
    CommandMessage,
    LotBody,
    LotMessage,
    LotSummary,
    Reading,
    ReadingBody,
    ReadingMessage,
    dump,
)
from junkan.core.topics import AgentTopics, Kind

log = logging.getLogger("junkan.agent.core")
_SEEN_COMMANDS = 200
_MAX_ALARMS = 20
_FAULTS = ("error", "overload", "underload")
_FAULT_REPEAT_S = 60.0


@dataclass
class _Pending:
    readings: list[Reading] = field(default_factory=list)
    checkpoints: dict[str, Any] = field(default_factory=dict)  # become committed with these readings
    since: float = 0.0


class AgentCore:
    def __init__(
        self,
        config: AgentConfig,
        outbox: SqliteOutbox,
        topics: AgentTopics,
        session: str,
        on_enqueued: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = wall_now,
        mono: Callable[[], float] = time.monotonic,
        sync_probe: Callable[[], dict[str, Any]] = sync_state,
    ) -> None:
        self.config, self.outbox, self.topics, self.session = config, outbox, topics, session
        self.on_enqueued, self.clock, self.mono, self.sync_probe = on_enqueued, clock, mono, sync_probe
        self.clock_watch = ClockWatch(config.clock.step_threshold_s)
        self.clock_status = ClockStatus()
        self._sync_due = 0.0
        self.on_tick: Callable[[], None] = lambda: None  # every loop turn: the systemd watchdog ping
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=100_000)
        self.alarms: list[str] = []
        state = outbox.load_state()
        self.seq: int = int(state.get("seq", 0))
        self.device_seq: dict[str, int] = dict(state.get("device_seq", {}))
        self._recover_numbers()  # seq and device_seq are checkpointed periodically: the newer messages tell
        self.seen_commands: list[str] = list(state.get("seen_commands", []))
        self.checkpoints: dict[str, Any] = dict(state.get("checkpoints", {}))  # committed source positions
        policy = LotPolicy(config.lots.max_mass_kg, config.lots.max_duration_s, config.lots.auto_open)
        self.lots = LotAggregator(policy, new_lot_id=self._new_lot_id)
        self._lot_dirty, self._lot_written_at = True, float("-inf")  # open lot state: see _write
        if state.get("open_lot"):
            self.lots.current = OpenLot.from_state(state["open_lot"])
            refolded = self._refold(state.get("open_lot_seq"))
            log.info("resuming open lot %s (%d readings re-folded from the outbox)", self.lots.current.lot_id,
                     refolded)
        self.detectors = {
            d.name: WeighingDetector(d.name, d.division_kg, d.stable_frames, config.lots.zero_band_kg,
                                     config.lots.empty_container_tare_kg, config.lots.resume_max_gap_s)
            for d in config.devices
            if DRIVERS[d.type].weighs
        }
        for name, det_state in dict(state.get("detectors") or {}).items():
            if name in self.detectors:
                self.detectors[name].restore(det_state)  # a restart is a gap: see WeighingDetector
        self._heard: dict[str, float] = {}  # monotonic time each scale was last heard
        self._by_exception = {d.name for d in config.devices if DRIVERS[d.type].by_exception}
        self._faults: dict[str, tuple[tuple[Any, Any], float]] = {}  # last (status, reason) recorded, when
        self._pending = _Pending()
        self._unwritten: list[OutgoingMessage] = []  # built (numbers assigned) but not yet committed
        self._held: list[OutgoingMessage] = []  # waiting for the commit window (outbox.commit_interval_s)
        self._held_since = 0.0
        self._telemetry_due: dict[str, float] = {}

    # -- inputs (any thread) ---------------------------------------------------------------------
    def submit_reading(self, device: str, reading: DeviceReading) -> None:
        self.events.put(("reading", (device, reading)))

    def submit_command(self, command: CommandMessage) -> None:
        self.events.put(("command", command))

    # -- the loop ---------------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Handle whatever is queued (up to one batch), then commit it to the outbox in one transaction.

        Batches form from what has already arrived, so a reading waits in memory only while the
        readings queued before it are handled (plus ``batch_max_delay_s`` if configured > 0)."""
        while not stop.is_set():
            self.on_tick()
            if self._unwritten and not self._retry_unwritten(stop):
                continue  # back-pressure: leave device events queued until the outbox takes writes again
            for kind, payload in self._drain(timeout=0.05):
                try:
                    self._handle(kind, payload)
                except (OutboxFull, sqlite3.Error, OSError) as exc:
                    self._outbox_trouble(exc)
                except Exception:
                    log.exception("core failed on %s event; continuing", kind)
            try:
                self._flush_readings()
                if self._held and self.mono() - self._held_since >= self.config.outbox.commit_interval_s:
                    self._write([])  # the commit window closed with no new message to carry the held ones
                elif (self.outbox.waiting_for_state()
                        and time.monotonic() - self._lot_written_at >= self.config.outbox.lot_state_interval_s):
                    self._write([])  # idle: write the state so acked messages can leave the file
            except (OutboxFull, sqlite3.Error, OSError) as exc:
                self._outbox_trouble(exc)
        try:
            self._flush_readings(force=True)
            if self._held:
                self._write([], urgent=True)
        except (OutboxFull, sqlite3.Error, OSError):
            log.error("shutdown: %d messages could not be written to the outbox", len(self._unwritten))

    def _retry_unwritten(self, stop: threading.Event) -> bool:
        try:
            self.outbox.purge_acked()  # full (rows or disk): what the gateway acked makes room first
            self._write([])
            return True
        except (OutboxFull, sqlite3.Error, OSError) as exc:
            self._outbox_trouble(exc)
            stop.wait(0.5)
            return False

    def _outbox_trouble(self, exc: BaseException) -> None:
        """Full, disk full, I/O error: the built messages wait in memory (in order, numbers kept)."""
        if isinstance(exc, OutboxFull):
            self._alarm(f"outbox full: {exc}; new lots are refused until it drains")
        else:
            self._alarm(f"outbox write failed: {exc}; retrying")

    def _drain(self, timeout: float) -> list[tuple[str, Any]]:
        try:
            events = [self.events.get(timeout=timeout)]
        except queue.Empty:
            return [("tick", None)]
        while len(events) < self.config.outbox.batch_size:
            try:
                events.append(self.events.get_nowait())
            except queue.Empty:
                break
        return events

    def _handle(self, kind: str, payload: Any) -> None:
        now = self.clock()
        self._watch_clock(now)
        if kind == "reading":
            device, reading = payload
            self._on_reading(device, reading, now)
        elif kind == "command":
            self._on_command(payload, now)
        self._emit_lot_events(self.lots.tick(now))

    def _watch_clock(self, now: datetime) -> None:
        """Steps of the wall clock: alarm, flag the open lot, shift the times held so durations stay true."""
        mono = self.mono()
        step = self.clock_watch.observe(now, mono)
        if step is not None:
            by = timedelta(seconds=step)
            self._alarm(f"clock_step: wall clock jumped by {step:+.1f} s at {now.isoformat(timespec='seconds')}")
            lot = self.lots.current
            if lot is not None:
                lot.clock_stepped(step)
            for detector in self.detectors.values():
                detector.shift_time(by)
            self.clock_status = self.clock_status.model_copy(
                update={"steps": self.clock_status.steps + 1, "last_step_s": round(step, 3)})
        if mono >= self._sync_due:
            self._sync_due = mono + self.config.clock.sync_check_interval_s
            sync = self.sync_probe()
            self.clock_status = self.clock_status.model_copy(
                update={"synchronised": sync.get("synchronised"), "max_error_us": sync.get("max_error_us")})
        if (self.config.clock.require_sync and self.clock_status.synchronised is False
                and self.lots.current is not None):
            self.lots.current.evidence.clock_unsynced = True

    def _on_reading(self, device: str, reading: DeviceReading, now: datetime) -> None:
        ts = reading.ts or now
        if reading.checkpoint is not None:
            self._pending.checkpoints[device] = reading.checkpoint
        if reading.kind == "info":
            return
        if reading.kind == "weight":
            detector = self.detectors.get(device)
            if detector is not None:
                mono = time.monotonic()
                last = self._heard.get(device)
                if (last is not None and mono - last > self.config.lots.frame_gap_s
                        and device not in self._by_exception):
                    detector.gap(mono - last)
                self._heard[device] = mono
                holding = detector.holding
                mode = reading.data.get("mode")
                weighing = detector.feed(ts, reading.value, bool(reading.stable), reading.status,
                                         mode, reading.data.get("tare_kg"))
                if weighing is not None:
                    self._on_weighing(weighing)
                elif detector.holding != holding:  # a container was placed: checkpoint its tare now
                    self._checkpoint_now()
                if (reading.stable and reading.value is not None and mode != "net"
                        and detector.is_empty(reading.value)
                        and self.lots.note_zero(device, ts, reading.value)):  # the lot's zero-drift evidence
                    self._lot_dirty = True
            if self._new_fault(device, reading):  # an error answer, overload ...: recorded, never silence
                self._add_reading(device, ts, reading, self.lots.current.lot_id if self.lots.current else None)
            self._maybe_telemetry(device, reading, ts)
            return
        if (reading.kind == "source_event" and device in self.detectors
                and reading.data.get("event") in ("offline", "seq_gap")):
            self.detectors[device].gap()  # the source says it lost something: what happened meanwhile is unknown
        lot_id = self.lots.note_reading(device, reading.kind, self._lot_time(device, reading.ts, now), reading.data)
        self._add_reading(device, ts, reading, lot_id)

    def _lot_time(self, device: str, ts: datetime | None, now: datetime) -> datetime:
        """When the lot counts a reading. A device's own time (an XRF's clock) ahead of the agent's beyond the
        tolerance cannot be a delivery delay: one clock is wrong (a Pi that booted with an old time). The lot is
        timed on the agent's clock, so the reading counts on arrival, and the lot says the clocks disagree
        (before, the lot showed the device silent for the difference). The reading keeps the device's time."""
        if ts is None:
            return now
        tolerance = self.config.clock.device_ahead_tolerance_s
        if (ts - now).total_seconds() <= tolerance:
            return ts
        if self.lots.current is not None:
            measurement.note_source_event(self.lots.current.evidence, device, (
                f"device_clock: readings stamped more than {tolerance:.0f} s ahead of the agent's clock "
                "(one of the two clocks is wrong); counted when they arrived"))
        return now

    def _new_fault(self, device: str, reading: DeviceReading) -> bool:
        """A problem reading worth recording: its cause differs from the last one recorded for the device, or
        that was a minute ago (not every frame of a long overload, nor of an answer that keeps failing)."""
        if reading.status not in _FAULTS:
            return False
        fault, mono = (reading.status, reading.data.get("reason")), time.monotonic()
        last = self._faults.get(device)
        if last is not None and last[0] == fault and mono - last[1] < _FAULT_REPEAT_S:
            return False
        self._faults[device] = (fault, mono)
        return True

    def _on_weighing(self, weighing: WeighingEvent) -> None:
        lot_id, events = self.lots.add_weighing(weighing)
        self._lot_dirty = True
        data: dict[str, Any] = {"tare_kg": weighing.tare_kg, "gross_kg": weighing.gross_kg,
                                "zero_kg": weighing.zero_kg, "zero_after_kg": weighing.zero_after_kg,
                                "drift_kg": weighing.drift_kg, "started_at": weighing.started_at.isoformat(),
                                "mode": weighing.mode}
        if weighing.status != "ok":  # mass unknown: no value, the reason and the bound instead
            data.update(reason=weighing.reason, net_upper_kg=weighing.net_upper_kg)
            self._alarm(f"{weighing.device}: weighing {weighing.reason} at {weighing.ended_at:%H:%M:%S}; "
                        "its mass is not in the lot")
        reading = DeviceReading(
            kind="weighing", value=weighing.net_kg if weighing.status == "ok" else None, unit="kg",
            status=weighing.status, stable=True, data=data,
        )
        self._emit_lot_events([e for e in events if isinstance(e, LotOpened)])
        self._add_reading(weighing.device, weighing.ended_at, reading, lot_id)
        self._emit_lot_events([e for e in events if not isinstance(e, LotOpened)])

    def _maybe_telemetry(self, device: str, reading: DeviceReading, ts: datetime) -> None:
        due = self._telemetry_due.get(device, 0.0)
        mono = time.monotonic()
        if mono < due:
            return
        self._telemetry_due[device] = mono + self.config.lots.telemetry_interval_s
        lot = self.lots.current
        detector = self.detectors.get(device)
        data: dict[str, object] = {"stable": bool(reading.stable),
                                   "container_net_kg": detector.loaded_net_kg if detector else None}
        if detector is not None and reading.value is not None:
            data["empty"] = detector.is_empty(reading.value)  # judged against the tracked zero
        wire = Reading(
            device=device, device_seq=self._next_device_seq(device), ts=ts, kind="weight",
            value=reading.value, unit=reading.unit, status=reading.status,
            lot_id=lot.lot_id if lot else None, data=data,
        )
        self._write([self._reading_message([wire], "telemetry")])

    def _on_command(self, command: CommandMessage, now: datetime) -> None:
        if command.cmd_id in self.seen_commands:
            return  # QoS1 redelivery of a command already carried out
        self.seen_commands = [*self.seen_commands[-_SEEN_COMMANDS + 1 :], command.cmd_id]
        log.info("command %s %s %s", command.action, command.lot_id or "", command.cmd_id)
        if command.action == "open_lot":
            if any(a.startswith("outbox full") for a in self.alarms):
                log.error("refusing to open lot %s: outbox full", command.lot_id)
                return
            events = self.lots.open(now, command.lot_id)
        else:
            events = self.lots.close(now, "operator", command.lot_id)
        self._emit_lot_events(events, force_state=True)

    # -- building messages ------------------------------------------------------------------------
    def _add_reading(self, device: str, ts: datetime, reading: DeviceReading, lot_id: str | None) -> None:
        wire = Reading(
            device=device, device_seq=self._next_device_seq(device), ts=ts, kind=reading.kind,
            value=reading.value, unit=reading.unit, status=reading.status, lot_id=lot_id,
            data=reading.data,
        )
        if not self._pending.readings:
            self._pending.since = time.monotonic()
        self._pending.readings.append(wire)

    def _flush_readings(self, force: bool = False) -> None:
        pending = self._pending
        if not pending.readings:
            return
        full = len(pending.readings) >= self.config.outbox.batch_size
        late = time.monotonic() - pending.since >= self.config.outbox.batch_max_delay_s
        if not (force or full or late):
            return
        self.checkpoints.update(pending.checkpoints)
        size = self.config.outbox.batch_size
        batch = pending.readings
        pending.readings, pending.checkpoints = [], {}
        self._write([self._reading_message(batch[i : i + size]) for i in range(0, len(batch), size)])

    def _checkpoint_now(self) -> None:
        """Commit the pending readings and the agent state now (one transaction)."""
        self._lot_dirty = True
        if self._pending.readings:
            self._flush_readings(force=True)
        else:
            self._write([])

    def _emit_lot_events(self, events: list[LotEvent], force_state: bool = False) -> None:
        if not events:
            if force_state:
                self._write([])
            return
        self._flush_readings(force=True)  # a lot's readings precede its close in sequence order
        self._write([self._lot_message(e) for e in events], urgent=True)

    def _lot_message(self, event: LotEvent) -> OutgoingMessage:
        lot = event.lot
        closed = isinstance(event, LotClosed)
        summary = LotSummary(
            lot_id=lot.lot_id, site=self.topics.site, line=self.topics.line, agent=self.topics.agent,
            status="closed" if closed else "open", opened_at=lot.opened_at,
            closed_at=event.closed_at if isinstance(event, LotClosed) else None,
            close_reason=event.reason if isinstance(event, LotClosed) else None,
            net_mass_kg=round(lot.net_mass_kg, 6), n_weighings=lot.n_weighings, devices=sorted(lot.devices),
            measurement=self._measure(lot, event.closed_at) if isinstance(event, LotClosed) else LiveMass(),
        )
        log.info("lot %s %s net=%.3f kg weighings=%d", lot.lot_id, "closed" if closed else "opened",
                 lot.net_mass_kg, lot.n_weighings)
        seq, msg_id = self._next_seq(), new_id()
        msg = LotMessage(msg_id=msg_id, agent=self.topics.agent, session=self.session, seq=seq,
                         sent_at=self.clock(), body=LotBody(event="closed" if closed else "opened", lot=summary))
        return OutgoingMessage(seq, msg_id, Kind.LOT.value, self.topics.topic(Kind.LOT), dump(msg))

    def _flag_scales_at_close(self, lot: OpenLot) -> None:
        """A lot closed while a container is still on a scale (the operator closed it during a link outage,
        say) misses that container's mass, which completes in the next lot if at all: the lot says so."""
        for name, detector in self.detectors.items():
            if detector.holding:
                measurement.note_source_event(lot.evidence, name, "closed with a container on the scale: its mass "
                                              "is not in this lot")

    def _measure(self, lot: OpenLot, closed_at: datetime) -> Measurement | MeasurementFailure:
        """The lot measurement at close; a failure is reported in the lot, never blocks its close."""
        expected = {d.name: d.type for d in self.config.devices} | self.config.measurement.expected_devices
        params = self.config.measurement.model_copy(update={"expected_devices": expected})
        self._flag_scales_at_close(lot)
        try:
            return measurement.measure(lot.evidence, opened_at=lot.opened_at, closed_at=closed_at, params=params)
        except Exception as exc:
            log.exception("measurement of lot %s failed", lot.lot_id)
            return MeasurementFailure(error=repr(exc))

    def _reading_message(self, readings: list[Reading], data_class: str = "critical") -> OutgoingMessage:
        seq, msg_id = self._next_seq(), new_id()
        msg = ReadingMessage(msg_id=msg_id, agent=self.topics.agent, session=self.session, seq=seq,
                             sent_at=self.clock(), body=ReadingBody(readings=readings))
        return OutgoingMessage(seq, msg_id, Kind.READING.value, self.topics.topic(Kind.READING), dump(msg),
                               data_class)

    def _write(self, messages: list[OutgoingMessage], urgent: bool = False) -> None:
        """Commit messages (after any earlier ones that could not be written) with the agent's state.

        With ``outbox.commit_interval_s`` > 0, plain readings and telemetry are held in memory and committed
        together once per interval (an SD card wears per commit, not per byte); weighings, lot events and
        state writes commit at once, taking every held message with them in order. Nothing held is sent:
        a power cut loses at most the last interval's readings, never one the gateway has seen."""
        interval = self.config.outbox.commit_interval_s
        if interval > 0 and messages and not urgent and not self._lot_dirty:
            mono_now = self.mono()
            if not self._held:
                self._held_since = mono_now
            self._held += messages
            if mono_now - self._held_since < interval:
                return
            messages = []
        messages, self._held = self._held + messages, []
        batch = self._unwritten + messages
        # Written with every message only if changed (the outbox skips unchanged keys): commands, positions.
        state: dict[str, Any] = {"seen_commands": self.seen_commands, "checkpoints": self.checkpoints}
        lot = self.lots.current
        mono = time.monotonic()
        lot_due = (self._lot_dirty or lot is None
                   or mono - self._lot_written_at >= self.config.outbox.lot_state_interval_s)
        if lot_due:  # every reading in messages up to self.seq is folded into this evidence
            state["seq"], state["device_seq"] = self.seq, self.device_seq
            state["open_lot"] = lot.to_state() if lot else None
            state["open_lot_seq"] = self.seq
            state["detectors"] = {name: d.to_state() for name, d in self.detectors.items()}
        try:
            self.outbox.enqueue(batch, state)
        except BaseException:
            self._unwritten = batch
            raise
        self._unwritten = []
        if lot_due:
            self._lot_dirty, self._lot_written_at = False, mono
            self.outbox.retain_after_seq = self.seq  # acked messages above it wait: they hold newer numbers
        if self.alarms:
            self.alarms = [a for a in self.alarms if not a.startswith("outbox")]
        self.on_enqueued()

    def _kept_readings(self, after_seq: int) -> Iterator[tuple[dict[str, Any], datetime]]:
        """Readings (as sent) of every message kept after ``after_seq``, acked or not, each with its message's
        ``sent_at`` (the agent's clock when it was built); unreadable ones skipped."""
        for msg in self.outbox.retained(after_seq):
            self.seq = max(self.seq, msg.seq)  # no kept message's number is ever reused
            if msg.kind != Kind.READING.value:
                continue
            try:
                payload = json.loads(msg.payload)
                readings, sent_at = payload["body"]["readings"], datetime.fromisoformat(payload["sent_at"])
            except (ValueError, KeyError, TypeError):
                continue
            yield from ((r, sent_at) for r in readings if isinstance(r, dict))

    def _recover_numbers(self) -> None:
        """``seq``/``device_seq`` as of the last state write, raised past every message kept after it (acked
        messages newer than the state are kept until the next state write, so none is ever reused)."""
        after = self.seq
        for r, _ in self._kept_readings(after):
            if isinstance(r.get("device_seq"), int):
                self.device_seq[r["device"]] = max(self.device_seq.get(r["device"], -1), r["device_seq"])
        self.outbox.retain_after_seq = after

    def _refold(self, after_seq: int | None) -> int:
        """After a crash: fold again the readings of the open lot in messages newer than its checkpoint."""
        lot = self.lots.current
        if lot is None or after_seq is None:
            return 0
        n = 0
        for r, sent_at in self._kept_readings(int(after_seq)):
            if r.get("lot_id") != lot.lot_id or r.get("kind") in ("weight", "weighing", "info"):
                continue  # weighings and zeros are checkpointed at once; only folded readings wait
            ts = self._lot_time(r["device"], datetime.fromisoformat(r["ts"]), sent_at)
            self.lots.note_reading(r["device"], r["kind"], ts, r.get("data") or {})
            n += 1
        return n

    def _next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def _next_device_seq(self, device: str) -> int:
        self.device_seq[device] = self.device_seq.get(device, -1) + 1
        return self.device_seq[device]

    def _new_lot_id(self, ts: datetime) -> str:
        return f"{self.topics.line}-{ts:%Y%m%d-%H%M%S}-{new_id()[-4:]}"

    def _alarm(self, text: str) -> None:
        if text not in self.alarms:
            self.alarms = [*self.alarms[-(_MAX_ALARMS - 1):], text]  # the newest few; the log has them all
            log.error("ALARM %s", text)

    def live_lot(self) -> LotSummary | None:
        """The open lot as the status message shows it (live mass includes the container on the scale)."""
        lot = self.lots.current
        if lot is None:
            return None
        on_scale = sum(d.loaded_net_kg for d in self.detectors.values())
        return LotSummary(
            lot_id=lot.lot_id, site=self.topics.site, line=self.topics.line, agent=self.topics.agent,
            status="open", opened_at=lot.opened_at, net_mass_kg=round(lot.net_mass_kg, 6),
            n_weighings=lot.n_weighings, devices=sorted(lot.devices),
            measurement=LiveMass(live_mass_kg=round(lot.net_mass_kg + on_scale, 3)),
        )
