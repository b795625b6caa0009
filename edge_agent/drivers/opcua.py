"""OPC UA client (asyncua): configured nodes -> weights, sorter counters and alarm bits.

Each configured channel names one node and what it is:

- ``weight``: a Double/Float/Int node. Its unit comes from the node's ``EngineeringUnits`` property
  (EUInformation, UN/CEFACT Rec 20 code packed into ``UnitId``, OPC 10000-8 §5.6.3): KGM, GRM, LBR, TNE,
  MGM. A weight whose unit is unknown (no property and no ``unit`` in the config, a code outside the map,
  a namespace other than UN/CEFACT) is ``status: error`` with no value, never a guessed kg. ``stable_node``
  (e.g. OPC 40200 ``WeightStable``) gives the motion flag; without it a Good value counts as stable and
  the weighing detector's N-frames-within-±1-d rule decides. Uncertain values are ``unstable``.
- ``counter``: an unsigned integer that only counts up. A reading (kind ``counter``) carries the increase
  since the last value seen; the first value is the baseline. A value lower than the last one is a
  counter reset (PLC restart): the reading carries the count since the reset, ``reset: true`` and status
  ``unstable`` (what was counted between the last read and the reset is unknown), never a wrap-around
  delta of billions. The last totals are kept across reconnects and, as the reading's checkpoint, across
  agent restarts, so an outage is covered by the first value after it and nothing is counted twice.
- ``alarm``: a Boolean, or one ``bit`` of an integer alarm word; a reading (kind ``alarm``) on each change.

A node that goes missing (``BadNodeIdUnknown``) or any Bad status makes that channel's reading
``status: error`` naming the node and the status code; the other channels continue.

``decode_sample`` (a DataValue already reduced to a ``Sample``) is pure; the runner (asyncua I/O,
reconnect, security) is in ``opcua_client.py``. Offline form (``junkan agent decode``, ``--capture``, golden
cases): JSON lines ``{"t": s, "channel": name, "node": id, "value": v, "status": "Good", "eu":
{"namespace_uri": ..., "unit_id": 4933453, "display_name": "kg"} | null, "stable": true | null}``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from edge_agent.drivers.base import BadFrame, Decoded, DeviceConfigBase, DeviceReading
from edge_agent.drivers.lines import RecordLines
from edge_agent.drivers.units import to_kg
from junkan.core.config import read_secret

CEFACT = "http://www.opcfoundation.org/UA/units/un/cefact"
_REC20 = {"KGM": "kg", "GRM": "g", "MGM": "mg", "LBR": "lb", "TNE": "t"}
UNITS: dict[int, str] = {int.from_bytes(code.encode(), "big"): unit for code, unit in _REC20.items()}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OpcUaSecurity(_Model):
    """Secure channel and client identity. Without this block the channel is unsecured (policy None)."""

    policy: Literal["Basic256Sha256", "Aes128Sha256RsaOaep", "Aes256Sha256RsaPss"] = Field(
        default="Basic256Sha256", description="Security policy of the secure channel.")
    mode: Literal["Sign", "SignAndEncrypt"] = Field(default="SignAndEncrypt", description="Message security mode.")
    certificate: str = Field(description="Client application instance certificate (DER or PEM file); the "
                             "server must trust it.")
    private_key: str = Field(description="Client private key (PEM or DER file).")
    private_key_password_env: str | None = Field(
        default=None, description="Environment variable holding the private key's password, if encrypted.")
    server_certificate: str | None = Field(
        default=None, description="Pin the server's certificate (DER or PEM). Without it the certificate the "
        "server announces in its endpoint list is used (trust on first use).")
    application_uri: str = Field(
        default="urn:junkan:agent", description="Client application URI; must equal the URI in the client "
        "certificate's subjectAltName.")


class OpcUaChannel(_Model):
    """One node and what it means."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", description="Channel name in readings.")
    node: str = Field(description="Node id: 'ns=2;s=Scale.NetWeight', or 'nsu=<namespace URI>;s=...' (the "
                      "index is looked up at each connect, so a server that renumbers namespaces still works).")
    kind: Literal["weight", "counter", "alarm"] = Field(description="What the node's value is.")
    stable_node: str | None = Field(default=None, description="weight: Boolean node, true when not in motion.")
    unit: Literal["kg", "g", "mg", "lb", "t"] | None = Field(
        default=None, description="weight: unit when the server has no EngineeringUnits on the node; a "
        "different unit in EngineeringUnits is an error.")
    bit: int | None = Field(default=None, ge=0, le=63, description="alarm: bit of an integer alarm word.")

    @model_validator(mode="after")
    def _fields_fit_kind(self) -> OpcUaChannel:
        if self.kind != "weight" and (self.stable_node or self.unit):
            raise ValueError(f"channel {self.name}: stable_node/unit are for weight channels")
        if self.kind != "alarm" and self.bit is not None:
            raise ValueError(f"channel {self.name}: bit is for alarm channels")
        return self


class OpcUaConfig(DeviceConfigBase):
    """A PLC, sorter or weighing terminal read over OPC UA."""

    type: Literal["opcua"] = Field(description="Driver key.")
    endpoint: str = Field(pattern=r"^opc\.tcp://", description="Server endpoint URL, opc.tcp://host:4840/...")
    channels: list[OpcUaChannel] = Field(min_length=1, description="Nodes to read.")
    mode: Literal["poll", "subscribe"] = Field(
        default="poll", description="poll: one Read of every node each interval. subscribe: the server pushes "
        "changes (counters and alarms reported on change, weights sampled each interval).")
    interval_s: float = Field(default=0.2, gt=0, le=60, description="Poll period / weight sample period (s).")
    node_check_s: float = Field(
        default=5.0, gt=0, description="subscribe: read every node this often to notice nodes that vanished.")
    timeout_s: float = Field(default=4.0, gt=0, description="Request timeout (s).")
    username: str | None = Field(default=None, description="User name; anonymous when not set.")
    password_file: str | None = Field(default=None, description="File holding the user's password.")
    password_env: str | None = Field(default=None, description="Environment variable holding the password.")
    security: OpcUaSecurity | None = Field(default=None, description="Certificates and policy; omit for None.")
    division_kg: float = Field(default=0.02, gt=0, description="Scale division d (kg), for stability checks.")
    stable_frames: int = Field(default=3, ge=1, le=50, description="Consecutive stable frames within ±1 d.")

    @model_validator(mode="after")
    def _one_weight(self) -> OpcUaConfig:
        names = [c.name for c in self.channels]
        if len(set(names)) != len(names):
            raise ValueError("channel names must be unique")
        if sum(c.kind == "weight" for c in self.channels) > 1:
            raise ValueError("one weight channel per device (the weighing detector is per device)")
        return self

    def password(self) -> str | None:
        return read_secret(self.password_file, self.password_env)


@dataclass(frozen=True)
class EuInfo:
    namespace_uri: str | None
    unit_id: int
    display_name: str = ""


@dataclass(frozen=True)
class Sample:
    """One DataValue of a channel's node, reduced to what decoding needs."""

    value: Any
    status: str = "Good"  # StatusCode name (Good, UncertainLastUsableValue, BadNodeIdUnknown ...)
    node: str = ""
    eu: EuInfo | None = None  # the node's EngineeringUnits, read at connect
    stable: bool | None = None  # the stable_node's value, when configured


@dataclass(frozen=True)
class ChannelState:
    last: Any = None  # counter: last total; alarm: last active flag
    error: str | None = None  # counter/alarm: the error last reported (reported once, not every poll)


def unit_of(eu: EuInfo | None, configured: str | None) -> tuple[str | None, str | None]:
    """(unit, error): the mass unit of a weight node, or why there is none."""
    if eu is None:
        return (configured, None) if configured else (None, "no EngineeringUnits on the node and no unit configured")
    unit = UNITS.get(eu.unit_id) if eu.namespace_uri in (CEFACT, None, "") else None
    if unit is None:
        return None, f"unknown engineering unit {eu.display_name!r} (UnitId {eu.unit_id}, {eu.namespace_uri})"
    if configured and configured != unit:
        return None, f"EngineeringUnits say {unit}, the config says {configured}"
    return unit, None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def decode_sample(ch: OpcUaChannel, s: Sample, state: ChannelState) -> tuple[DeviceReading | None, ChannelState]:
    """A channel's DataValue -> (reading or None, new state). Pure; never raises."""
    where = {"channel": ch.name, "node": s.node or ch.node}
    error = None if s.status.startswith(("Good", "Uncertain")) else f"{s.status} on node {where['node']}"
    if ch.kind == "weight":
        unit, why = unit_of(s.eu, ch.unit)
        number = _number(s.value)
        kg = to_kg(number, unit) if number is not None and unit else None
        error = error or (f"{why} on node {where['node']}" if why else None)
        if error is None and kg is None:
            error = f"value {s.value!r} of node {where['node']} is not a number"
        if error is not None or kg is None:
            return DeviceReading(kind="weight", value=None, unit=None, stable=False, status="error",
                                 data={**where, "error": error}), state
        stable = s.status.startswith("Good") and s.stable is not False
        return DeviceReading(kind="weight", value=round(kg, 9), unit="kg", stable=stable,
                             status="ok" if stable else "unstable", data=where), state
    if error is None and ch.kind == "counter":
        number = _number(s.value)
        if number is None or number < 0 or number != int(number):
            error = f"value {s.value!r} of node {where['node']} is not a counter"
    if error is not None:
        if error == state.error:
            return None, state
        return (DeviceReading(kind=ch.kind, status="error", data={**where, "error": error}),
                ChannelState(state.last, error))
    if ch.kind == "counter":
        total = int(s.value)
        if state.last is None or total == state.last:
            return None, ChannelState(total)
        reset = total < state.last
        delta = total if reset else total - state.last
        return (DeviceReading(kind="counter", value=float(delta), status="unstable" if reset else "ok",
                              data={**where, "total": total, "reset": reset}), ChannelState(total))
    active = bool(int(s.value) >> ch.bit & 1) if ch.bit is not None and _number(s.value) is not None \
        else bool(s.value)
    if active == state.last and state.error is None:
        return None, state
    return DeviceReading(kind="alarm", status="ok", data={**where, "active": active}), ChannelState(active)


def sample_from_json(rec: dict[str, Any]) -> Sample:
    eu = rec.get("eu")
    info = EuInfo(eu.get("namespace_uri"), int(eu["unit_id"]), str(eu.get("display_name", ""))) if eu else None
    return Sample(rec.get("value"), str(rec.get("status", "Good")), str(rec.get("node", "")), info,
                  rec.get("stable"))


def sample_to_json(t: float, channel: str, s: Sample) -> dict[str, Any]:
    eu = None if s.eu is None else {"namespace_uri": s.eu.namespace_uri, "unit_id": s.eu.unit_id,
                                    "display_name": s.eu.display_name}
    return {"t": t, "channel": channel, "node": s.node, "value": s.value, "status": s.status, "eu": eu,
            "stable": s.stable}


class ChannelDecoder:
    """Per-channel state over a stream of samples (used by the runner and the offline decoder alike)."""

    def __init__(self, config: OpcUaConfig) -> None:
        self.channels = {c.name: c for c in config.channels}
        self.states = {c.name: ChannelState() for c in config.channels}

    def step(self, channel: str, sample: Sample) -> DeviceReading | None:
        reading, self.states[channel] = decode_sample(self.channels[channel], sample, self.states[channel])
        if reading is not None and reading.kind == "counter" and reading.status != "error":
            totals = {n: s.last for n, s in self.states.items() if self.channels[n].kind == "counter"
                      and s.last is not None}
            reading = DeviceReading(kind=reading.kind, value=reading.value, status=reading.status,
                                    data=reading.data, checkpoint={"totals": totals})
        return reading

    def resume(self, checkpoint: dict[str, Any] | None) -> None:
        """Counter totals committed with the last readings before an agent restart."""
        for name, total in ((checkpoint or {}).get("totals") or {}).items():
            if name in self.states and isinstance(total, int):
                self.states[name] = ChannelState(total)


class DumpDecoder(RecordLines):
    """Offline decoder of the JSON-lines sample dumps the runner captures."""

    def __init__(self, config: OpcUaConfig) -> None:
        super().__init__()
        self.channels = ChannelDecoder(config)

    def record(self, raw: bytes) -> Decoded | None:
        try:
            rec = json.loads(raw)
            name = rec["channel"]
            sample = sample_from_json(rec)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return BadFrame(f"not an OPC UA sample line: {exc!r}", raw[:256])
        if name not in self.channels.channels:
            return BadFrame(f"channel {name!r} is not configured", raw[:256])
        return self.channels.step(name, sample)


_DEFAULT = OpcUaConfig.model_validate({"name": "opcua", "type": "opcua", "endpoint": "opc.tcp://127.0.0.1:4840/",
                                       "channels": [{"name": "weight", "node": "ns=2;s=Scale.NetWeight",
                                                     "kind": "weight"}]})


def decoder(config: OpcUaConfig | None = None) -> DumpDecoder:
    return DumpDecoder(config or _DEFAULT)


def runner(config: OpcUaConfig, capture_path: Path | None = None) -> Any:
    from edge_agent.drivers.opcua_client import OpcUaRunner

    return OpcUaRunner(config, capture_path)
