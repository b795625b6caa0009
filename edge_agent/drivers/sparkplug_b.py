"""Sparkplug B 3.0 edge nodes (Ignition Edge, Eclipse Tahu, PLC gateways) as junkan devices.

One junkan device is one Sparkplug edge node, or one device under it (``device_id``). The agent is a
Sparkplug *host*: it subscribes to ``spBv1.0/{group}/+/{edge_node}/#`` and keeps the session rules
(spec ch.5, summarised in docs/devices.md):

- BIRTH first: NBIRTH lists every node metric with name, datatype, current value and optional alias,
  plus ``bdSeq``; DBIRTH the same for a device. DATA may name metrics by alias only, so a DATA, DBIRTH or
  DDEATH before its NBIRTH (or a DDATA before its DBIRTH, or an alias/name absent from the BIRTH) is never
  guessed at: it is a bad frame and an NCMD ``Node Control/Rebirth`` is requested (at most one per
  ``rebirth_min_interval_s``). Our own (re)connect also requests a rebirth: what happened while we were
  away is unknown.
- ``seq`` (0-255, one counter per edge node over NBIRTH/NDATA/DBIRTH/DDATA/DDEATH): a jump is a lost
  message; it is counted, flagged as a ``source_event`` reading (status error) that the open lot keeps,
  and a rebirth is requested so the current values are known again.
- NDEATH (the node's MQTT will) with the ``bdSeq`` of the current NBIRTH, or DDEATH of our device: the
  device is offline (the agent status shows ``error`` with the reason), a ``source_event`` "offline" goes
  into the lot and a weight in progress is broken off (an offline scale has no weight). An NDEATH with
  another bdSeq is a late will of an older session and ignored.

Metrics become readings by configuration (``metrics``): ``weight`` (in kg; the stable flag from another
metric or from a property of the weight metric; feeds the weighing detector), ``counter`` (total and the
increase since the last value, across outages and resets), ``alarm_bits`` (one ``alarm`` reading per bit
that changes) and ``value``. Counters and alarms have the shapes of the ``opcua`` driver's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from google.protobuf.message import DecodeError
from pydantic import BaseModel, ConfigDict, Field, model_validator

from edge_agent.drivers import sparkplug_proto as spb
from edge_agent.drivers.base import BadFrame, Decoded, DeviceReading
from edge_agent.drivers.mqtt_source import BrokerConfig, CaptureDecoder, MqttDeviceConfig, MqttSourceRunner, event
from edge_agent.drivers.units import to_kg

KEY = "sparkplug_b"
NAMESPACE = "spBv1.0"
NODE_TYPES = {"NBIRTH", "NDATA", "NDEATH"}
DEVICE_TYPES = {"DBIRTH", "DDATA", "DDEATH"}
SPARKPLUG_ID = r"^[^+/#]{1,128}$"


class MetricMap(BaseModel):
    """One Sparkplug metric read as junkan readings."""

    model_config = ConfigDict(extra="forbid")

    metric: str = Field(min_length=1, description="Metric name as in the BIRTH, e.g. Scale/Weight.")
    kind: Literal["weight", "counter", "alarm_bits", "value"] = Field(description="What the metric is.")
    unit: str | None = Field(default=None, description="weight: unit of the metric's value (kg, g, t, lb; "
                             "default kg); value/counter: unit label kept on the reading.")
    stable_metric: str | None = Field(default=None, description="weight: Boolean metric saying the weight "
                                      "is settled (e.g. Scale/Stable).")
    stable_property: str | None = Field(default=None, description="weight: Boolean property of the weight "
                                        "metric saying it is settled (e.g. stable).")
    assume_stable: bool = Field(default=False, description="weight: the device publishes settled weights only.")
    bits: list[str] = Field(default_factory=list, description="alarm_bits: names of bit 0, 1, ...; "
                            "unnamed set bits are reported as bit_<n>.")

    @model_validator(mode="after")
    def _weight_rules(self) -> MetricMap:
        if self.kind == "weight":
            if to_kg(1.0, self.unit or "kg") is None:
                raise ValueError(f"weight unit {self.unit!r} is not a mass unit")
            if not (self.stable_metric or self.stable_property or self.assume_stable):
                raise ValueError("a weight needs stable_metric, stable_property or assume_stable: true "
                                 "(only stable readings become weighings)")
        return self


class SparkplugBConfig(MqttDeviceConfig):
    """A Sparkplug B edge node (or one of its devices) on an MQTT broker."""

    type: Literal["sparkplug_b"] = Field(description="Driver key.")
    broker: BrokerConfig = Field(default_factory=BrokerConfig, description="Broker the edge node publishes to.")
    group_id: str = Field(pattern=SPARKPLUG_ID, description="Sparkplug group id.")
    edge_node_id: str = Field(pattern=SPARKPLUG_ID, description="Sparkplug edge node id.")
    device_id: str | None = Field(default=None, pattern=SPARKPLUG_ID,
                                  description="Device under the edge node; omit to read the node's own metrics.")
    metrics: list[MetricMap] = Field(min_length=1, description="Metrics to read and what they mean.")
    rebirth_min_interval_s: float = Field(default=5.0, gt=0, description="At most one rebirth request this often.")

    def value_maps(self) -> tuple[str, list[Any]]:
        return "metric", self.metrics


@dataclass
class _Node:
    """What the host knows of one edge node's session."""

    bd_seq: int | None = None
    seq: int | None = None
    born: bool = False
    aliases: dict[int, tuple[str, str]] = field(default_factory=dict)  # alias -> (scope, name)
    dtypes: dict[tuple[str, str], int] = field(default_factory=dict)  # (scope, name) -> datatype
    devices: set[str] = field(default_factory=set)  # devices with a DBIRTH in this session


@dataclass(frozen=True)
class _Many:
    items: list[DeviceReading]


def _ts(ms: int | None) -> datetime | None:
    try:
        return datetime.fromtimestamp(ms / 1000, UTC) if ms else None
    except (OverflowError, OSError, ValueError):
        return None


class SparkplugSession:
    """The host's state machine for one configured device. Pure: messages in, readings out."""

    def __init__(self, config: SparkplugBConfig) -> None:
        self.config = config
        self.scope = config.device_id or ""
        self.node = _Node()
        self.online: bool | None = None
        self.offline_reason: str | None = None
        self.values: dict[str, Any] = {}  # current value per metric name of our scope
        self.last_counter: dict[str, int] = {}  # kept across rebirths: the first value after counts the outage
        self.last_alarms: dict[str, int] = {}
        self.seq_gaps = 0
        self.seq_missed = 0
        self.rebirths_requested = 0
        self._commands: list[tuple[str, bytes]] = []
        self._last_rebirth: float | None = None

    # -- MessageSource ---------------------------------------------------------------------------
    def subscriptions(self) -> list[str]:
        c = self.config
        return [f"{NAMESPACE}/{c.group_id}/+/{c.edge_node_id}", f"{NAMESPACE}/{c.group_id}/+/{c.edge_node_id}/+"]

    def connected(self, t: float) -> None:
        """Our session is new: forget the node's session (aliases may have changed) and ask for BIRTHs."""
        self.node = _Node()
        self.online = None
        self._rebirth(t, force=True)

    def take_commands(self) -> list[tuple[str, bytes]]:
        out, self._commands = self._commands, []
        return out

    def message(self, topic: str, payload: bytes, t: float) -> list[Decoded]:
        parts = topic.split("/")
        if len(parts) not in (4, 5) or parts[0] != NAMESPACE:
            return [BadFrame(f"not a Sparkplug B topic: {topic[:120]}", payload[:64])]
        _, group, mtype, node_id, *rest = parts
        device = rest[0] if rest else None
        if group != self.config.group_id or node_id != self.config.edge_node_id or mtype in ("NCMD", "DCMD"):
            return []  # another node, or commands (our own rebirth requests come back too)
        if mtype not in NODE_TYPES | DEVICE_TYPES or (device is None) != (mtype in NODE_TYPES):
            return [BadFrame(f"unexpected message type {mtype} on {topic[:120]}", payload[:64])]
        try:
            p = spb.Payload.FromString(payload)
        except DecodeError as exc:
            self._rebirth(t)
            return [BadFrame(f"{mtype}: payload is not a Sparkplug B protobuf ({exc}); rebirth requested",
                             payload[:256])]
        if mtype == "NBIRTH":
            return self._nbirth(p, t)
        if mtype == "NDEATH":
            return self._ndeath(p)
        if not self.node.born:
            self._rebirth(t)
            return [BadFrame(f"{mtype} before NBIRTH: metric aliases unknown, not guessed; rebirth requested",
                             payload[:256])]
        out: list[Decoded] = self._check_seq(p, mtype, t)
        if mtype == "DBIRTH":
            return out + self._dbirth(p, device or "", t)
        if mtype == "DDEATH":
            self.node.devices.discard(device or "")
            return out + (self._offline(f"DDEATH of {device}") if device == self.scope else [])
        scope = device or ""
        if scope and scope not in self.node.devices:
            self._rebirth(t)
            return [*out, BadFrame(f"DDATA of {device} before its DBIRTH; rebirth requested", payload[:256])]
        return out + self._data(p, scope, t)

    # -- message types ---------------------------------------------------------------------------
    def _nbirth(self, p: Any, t: float) -> list[Decoded]:
        bd = next((int(m.long_value or m.int_value) for m in p.metrics if m.name == "bdSeq"), None)
        self.node = _Node(bd_seq=bd, seq=int(p.seq) if p.HasField("seq") else None, born=True)
        self._learn(p, "")
        out: list[Decoded] = []
        if self.scope == "":
            out += self._back_online(bd)
            out += self._readings(p, "", t)
        if bd is None:
            out.append(BadFrame("NBIRTH without a bdSeq metric: a late NDEATH cannot be matched to it"))
        return out

    def _dbirth(self, p: Any, device: str, t: float) -> list[Decoded]:
        self.node.devices.add(device)
        self._learn(p, device)
        if device != self.scope:
            return []
        return self._back_online(self.node.bd_seq) + self._readings(p, device, t)

    def _ndeath(self, p: Any) -> list[Decoded]:
        bd = next((int(m.long_value or m.int_value) for m in p.metrics if m.name == "bdSeq"), None)
        if self.node.bd_seq is not None and bd != self.node.bd_seq:
            return [DeviceReading(kind="info", data={"stale_ndeath_bd_seq": bd, "current_bd_seq": self.node.bd_seq})]
        self.node = _Node(bd_seq=bd)
        return self._offline(f"NDEATH (bdSeq {bd})")

    def _data(self, p: Any, scope: str, t: float) -> list[Decoded]:
        return self._readings(p, scope, t) if scope == self.scope else []  # seq checked already

    # -- helpers ----------------------------------------------------------------------------------
    def _learn(self, p: Any, scope: str) -> None:
        for m in p.metrics:
            if not m.name:
                continue
            self.node.dtypes[(scope, m.name)] = int(m.datatype)
            if m.HasField("alias"):
                self.node.aliases[int(m.alias)] = (scope, m.name)

    def _resolve(self, p: Any, scope: str) -> tuple[list[tuple[str, Any]], list[Decoded]]:
        """(name, metric) pairs known from the BIRTH; unknown ones are bad frames (and a rebirth)."""
        known: list[tuple[str, Any]] = []
        bad: list[Decoded] = []
        for m in p.metrics:
            if m.name:
                name = m.name
                if (scope, name) not in self.node.dtypes:
                    bad.append(BadFrame(f"metric {name!r} not in the BIRTH; rebirth requested"))
                    continue
            elif m.HasField("alias") and self.node.aliases.get(int(m.alias), (None, ""))[0] == scope:
                name = self.node.aliases[int(m.alias)][1]
            else:
                bad.append(BadFrame(f"alias {m.alias if m.HasField('alias') else None} not in the BIRTH of "
                                    f"{scope or 'the node'}; not guessed, rebirth requested"))
                continue
            known.append((name, m))
        return known, bad

    def _readings(self, p: Any, scope: str, t: float) -> list[Decoded]:
        known, out = self._resolve(p, scope)
        if out:
            self._rebirth(t)
        changed: dict[str, Any] = {}
        for name, m in known:
            value, why = spb.metric_value(m, self.node.dtypes.get((scope, name), int(m.datatype)))
            self.values[name] = value
            changed[name] = m
            if why and why != "null" and any(mm.metric == name for mm in self.config.metrics):
                out.append(BadFrame(f"metric {name!r}: {why}"))
        stamp = int(p.timestamp) if p.HasField("timestamp") else None
        for mm in self.config.metrics:
            reading = self._map(mm, changed, stamp)
            if isinstance(reading, _Many):
                out += reading.items
            elif reading is not None:
                out.append(reading)
        return out

    def _map(self, mm: MetricMap, changed: dict[str, Any], stamp: int | None) -> Decoded | _Many | None:
        m = changed.get(mm.metric)
        if m is None and not (mm.kind == "weight" and mm.stable_metric in changed):
            return None
        ts = _ts(int(m.timestamp) if m is not None and m.HasField("timestamp") else stamp)
        value = self.values.get(mm.metric)
        hist = {"historical": True} if m is not None and m.is_historical else {}
        if mm.kind == "weight":
            return self._weight(mm, m, value, ts)
        if mm.kind == "alarm_bits":
            return self._alarms(mm, value, ts, hist)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None if value is None else BadFrame(f"metric {mm.metric!r}: {value!r} is not a number")
        if mm.kind == "counter":  # same shape as the opcua driver's counters
            total, last = int(value), self.last_counter.get(mm.metric)
            self.last_counter[mm.metric] = total
            if last is None or total == last:
                return None  # the first value is the baseline
            reset = total < last
            return DeviceReading(kind="counter", value=float(total if reset else total - last), ts=ts,
                                 status="unstable" if reset else "ok",
                                 data={"metric": mm.metric, "total": total, "reset": reset, **hist})
        return DeviceReading(kind="value", value=float(value), unit=mm.unit, ts=ts,
                             data={"metric": mm.metric, **hist})

    def _alarms(self, mm: MetricMap, value: Any, ts: datetime | None, hist: dict[str, Any]) -> Decoded | _Many | None:
        """One ``alarm`` reading per bit that changed (all named bits on the first value), as opcua's."""
        if not isinstance(value, int):
            return None if value is None else BadFrame(f"metric {mm.metric!r}: alarm bits not an integer")
        last = self.last_alarms.get(mm.metric)
        self.last_alarms[mm.metric] = int(value)
        v = int(value)
        changed = (v ^ last) if last is not None else v | ((1 << len(mm.bits)) - 1)
        bits = [i for i in range(64) if changed >> i & 1]
        readings = [DeviceReading(kind="alarm", status="ok", ts=ts, data={
            "metric": mm.metric, "alarm": mm.bits[i] if i < len(mm.bits) else f"bit_{i}",
            "active": bool(v >> i & 1), **hist}) for i in bits]
        return _Many(readings) if readings else None

    def _weight(self, mm: MetricMap, m: Any, value: Any, ts: datetime | None) -> Decoded:
        if value is None:
            return DeviceReading(kind="weight", value=None, unit="kg", stable=False, status="error", ts=ts)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return BadFrame(f"metric {mm.metric!r}: {value!r} is not a number")
        if mm.assume_stable:
            stable = True
        elif mm.stable_property:
            stable = m is not None and spb.property_value(m, mm.stable_property) is True
        else:
            stable = self.values.get(mm.stable_metric or "") is True
        kg = to_kg(float(value), mm.unit or "kg") or 0.0
        return DeviceReading(kind="weight", value=round(kg, 9), unit="kg", stable=stable,
                             status="ok" if stable else "unstable", ts=ts)

    def _check_seq(self, p: Any, mtype: str, t: float) -> list[Decoded]:
        if not p.HasField("seq"):
            return [BadFrame(f"{mtype} without seq")]
        seq, last = int(p.seq), self.node.seq
        self.node.seq = seq
        if last is None or seq == (last + 1) % 256:
            return []
        missed = (seq - last - 1) % 256
        self.seq_gaps += 1
        self.seq_missed += missed
        self._rebirth(t)
        return [event("seq_gap", "error", expected=(last + 1) % 256, got=seq, missed=missed,
                      gaps_total=self.seq_gaps, missed_total=self.seq_missed)]

    def _offline(self, reason: str) -> list[Decoded]:
        was = self.online
        self.online, self.offline_reason = False, reason
        if was is False:
            return []
        out: list[Decoded] = [event("offline", "error", reason=reason)]
        if any(m.kind == "weight" for m in self.config.metrics):  # an offline scale has no weight
            out.append(DeviceReading(kind="weight", value=None, unit="kg", stable=False, status="error"))
        return out

    def _back_online(self, bd: int | None) -> list[Decoded]:
        was, reason = self.online, self.offline_reason
        self.online, self.offline_reason = True, None
        return [event("online", "ok", bd_seq=bd, after=reason)] if was is False else []

    def _rebirth(self, t: float, force: bool = False) -> None:
        if not force and self._last_rebirth is not None and t - self._last_rebirth < self.config.rebirth_min_interval_s:
            return
        self._last_rebirth = t
        self.rebirths_requested += 1
        c = self.config
        self._commands.append((f"{NAMESPACE}/{c.group_id}/NCMD/{c.edge_node_id}", spb.rebirth_request(int(t * 1000))))


def decoder(config: SparkplugBConfig | None = None) -> CaptureDecoder:
    return CaptureDecoder(SparkplugSession(config or example_config()))


def runner(config: SparkplugBConfig, capture_path: Path | None = None) -> MqttSourceRunner:
    return MqttSourceRunner(config.name, config.broker, SparkplugSession(config), capture_path)


def example_config() -> SparkplugBConfig:
    """The settings of firmware_configs/devices/sparkplug_b.example.yaml (used when decoding without one)."""
    return SparkplugBConfig.model_validate({
        "type": KEY, "name": "scale-spb", "group_id": "plant1", "edge_node_id": "line1-edge", "device_id": "scale1",
        "metrics": [{"metric": "Scale/Weight", "kind": "weight", "unit": "kg", "stable_metric": "Scale/Stable"},
                    {"metric": "Scale/Containers", "kind": "counter"},
                    {"metric": "Scale/Alarms", "kind": "alarm_bits", "bits": ["overload", "underload", "tilt"]}],
    })
