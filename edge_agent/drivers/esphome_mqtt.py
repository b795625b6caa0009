"""ESPHome nodes (ESP32 + HX711 platform scales, generic sensor nodes) read from their MQTT topics.

ESPHome's MQTT component publishes, with ``topic_prefix`` defaulting to the node name (esphome-docs
``components/mqtt``): ``<prefix>/<component>/<object_id>/state`` per entity (retained, text payloads:
sensors as numbers with the entity's decimals or ``nan``, binary sensors ``ON``/``OFF``), and
availability on ``<prefix>/status``: birth ``online`` and will/shutdown ``offline``, retained. The
object id is the entity name in snake case ("Stable weight" -> ``stable_weight``).

Why ESPHome's own topics rather than making the YAML publish junkan's schema: the node stays a stock
ESPHome node (any other MQTT client and Home Assistant can read it too), its will gives liveness for
free, and a junkan schema change never means reflashing scales. The cost is this small mapping.

``entities`` maps state topics to readings: ``weight`` (kg; stable when ``assume_stable`` - the
``Stable weight`` sensor of firmware_configs/esphome/platform_scale.yaml only publishes settled values -
or from a binary ``stable_entity``), ``counter`` and ``alarm`` in the ``opcua`` shapes, ``value``. An
``offline`` status (the will) makes the device offline in the agent status, puts a ``source_event``
"offline" into the lot and breaks off a weight in progress; ``online`` brings it back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from edge_agent.drivers.base import BadFrame, Decoded, DeviceReading
from edge_agent.drivers.mqtt_source import BrokerConfig, CaptureDecoder, MqttDeviceConfig, MqttSourceRunner, event
from edge_agent.drivers.units import to_kg

KEY = "esphome_mqtt"
ENTITY = r"^(sensor|binary_sensor|text_sensor)/[a-z0-9_]{1,64}$"


class EntityMap(BaseModel):
    """One ESPHome entity read as junkan readings."""

    model_config = ConfigDict(extra="forbid")

    entity: str = Field(pattern=ENTITY, description="<component>/<object_id>, e.g. sensor/stable_weight.")
    kind: Literal["weight", "counter", "alarm", "value"] = Field(description="What the entity's state is.")
    unit: str | None = Field(default=None, description="weight: unit of the state (kg, g, t, lb; default kg); "
                             "value/counter: unit label kept on the reading.")
    assume_stable: bool = Field(default=False, description="weight: the entity publishes settled weights only.")
    stable_entity: str | None = Field(default=None, pattern=ENTITY,
                                      description="weight: binary sensor that is ON while the weight is settled.")

    @model_validator(mode="after")
    def _weight_rules(self) -> EntityMap:
        if self.kind == "weight":
            if to_kg(1.0, self.unit or "kg") is None:
                raise ValueError(f"weight unit {self.unit!r} is not a mass unit")
            if not (self.assume_stable or self.stable_entity):
                raise ValueError("a weight needs assume_stable: true or a stable_entity")
        return self


class EsphomeMqttConfig(MqttDeviceConfig):
    """An ESPHome node publishing over MQTT in ESPHome's default topic layout."""

    type: Literal["esphome_mqtt"] = Field(description="Driver key.")
    broker: BrokerConfig = Field(default_factory=BrokerConfig, description="Broker the node publishes to.")
    topic_prefix: str = Field(pattern=r"^[^+#]{1,128}$", description="The node's mqtt.topic_prefix "
                              "(ESPHome's default: the node name).")
    entities: list[EntityMap] = Field(min_length=1, description="Entities to read and what they mean.")

    def value_maps(self) -> tuple[str, list[Any]]:
        return "entity", self.entities


class EsphomeSession:
    """State of one node: availability and the last state of each entity. Pure: messages in, readings out."""

    def __init__(self, config: EsphomeMqttConfig) -> None:
        self.config = config
        self.by_entity = {e.entity: e for e in config.entities}
        self.stable_for = {e.stable_entity: e for e in config.entities if e.stable_entity}
        self.online: bool | None = None
        self.offline_reason: str | None = None
        self.states: dict[str, Any] = {}
        self.last_total: dict[str, int] = {}

    def subscriptions(self) -> list[str]:
        p = self.config.topic_prefix
        return [f"{p}/status", f"{p}/+/+/state"]

    def connected(self, t: float) -> None:
        self.online = None  # the retained status tells again

    def take_commands(self) -> list[tuple[str, bytes]]:
        return []

    def message(self, topic: str, payload: bytes, t: float) -> list[Decoded]:
        prefix = self.config.topic_prefix
        try:
            text = payload.decode("utf-8").strip()
        except UnicodeDecodeError:
            return [BadFrame(f"{topic[:120]}: payload is not UTF-8 text", payload[:64])]
        if topic == f"{prefix}/status":
            return self._status(text, payload)
        rest = topic[len(prefix) + 1:].split("/") if topic.startswith(prefix + "/") else []
        if len(rest) != 3 or rest[2] != "state":
            return [BadFrame(f"not an ESPHome state topic of {prefix}: {topic[:120]}", payload[:64])]
        entity = f"{rest[0]}/{rest[1]}"
        parsed = self._parse(rest[0], text)
        if isinstance(parsed, BadFrame):
            return [BadFrame(f"{entity}: {parsed.reason}", payload[:64])]
        previous, self.states[entity] = self.states.get(entity), parsed
        out: list[Decoded] = []
        mapping = self.by_entity.get(entity)
        if mapping is not None:
            reading = self._reading(mapping, parsed, previous)
            if reading is not None:
                out.append(reading)
        weight = self.stable_for.get(entity)
        if weight is not None and weight.entity in self.states and parsed != previous:
            reading = self._reading(weight, self.states[weight.entity], None)
            if reading is not None:
                out.append(reading)
        return out

    def _status(self, text: str, raw: bytes) -> list[Decoded]:
        if text == "online":
            was, reason = self.online, self.offline_reason
            self.online, self.offline_reason = True, None
            return [event("online", "ok", after=reason)] if was is False else []
        if text == "offline":
            was = self.online
            self.online, self.offline_reason = False, "status offline (node's will or shutdown)"
            if was is False:
                return []
            out: list[Decoded] = [event("offline", "error", reason=self.offline_reason)]
            if any(e.kind == "weight" for e in self.config.entities):  # an offline scale has no weight
                out.append(DeviceReading(kind="weight", value=None, unit="kg", stable=False, status="error"))
            return out
        return [BadFrame(f"status payload {text[:40]!r} is neither online nor offline", raw[:64])]

    @staticmethod
    def _parse(component: str, text: str) -> Any:
        if component == "binary_sensor":
            if text not in ("ON", "OFF"):
                return BadFrame(f"binary state {text[:40]!r} is neither ON nor OFF")
            return text == "ON"
        if component == "text_sensor":
            return text
        if text.lower() == "nan":
            return None  # ESPHome's "no value" (sensor failed or not read yet)
        try:
            number = float(text)
        except ValueError:
            return BadFrame(f"sensor state {text[:40]!r} is not a number")
        return number if number == number and abs(number) != float("inf") else None

    def _reading(self, e: EntityMap, value: Any, previous: Any) -> Decoded | None:
        where = {"entity": e.entity}
        if e.kind == "weight":
            if value is None:
                return DeviceReading(kind="weight", value=None, unit="kg", stable=False, status="error", data=where)
            if not isinstance(value, float):
                return BadFrame(f"{e.entity}: weight {value!r} is not a number")
            stable = e.assume_stable or self.states.get(e.stable_entity or "") is True
            kg = to_kg(value, e.unit or "kg") or 0.0
            return DeviceReading(kind="weight", value=round(kg, 9), unit="kg", stable=stable,
                                 status="ok" if stable else "unstable")
        if e.kind == "alarm":
            if value == previous:
                return None
            return DeviceReading(kind="alarm", status="ok",
                                 data={**where, "alarm": e.entity.split("/")[1], "active": bool(value)})
        if value is None or isinstance(value, bool | str):
            return None if value is None else BadFrame(f"{e.entity}: {value!r} is not a number")
        if e.kind == "counter":  # the opcua shape: baseline first, then increases
            total, last = int(value), self.last_total.get(e.entity)
            self.last_total[e.entity] = total
            if last is None or total == last:
                return None
            reset = total < last
            return DeviceReading(kind="counter", value=float(total if reset else total - last), unit=e.unit,
                                 status="unstable" if reset else "ok", data={**where, "total": total, "reset": reset})
        return DeviceReading(kind="value", value=float(value), unit=e.unit, data=where)


def example_config() -> EsphomeMqttConfig:
    """The settings of firmware_configs/devices/esphome_mqtt.example.yaml (used when decoding without one)."""
    return EsphomeMqttConfig.model_validate({
        "type": KEY, "name": "scale-esphome", "topic_prefix": "scale-line1",
        "entities": [{"entity": "sensor/stable_weight", "kind": "weight", "unit": "kg", "assume_stable": True}],
    })


def decoder(config: EsphomeMqttConfig | None = None) -> CaptureDecoder:
    return CaptureDecoder(EsphomeSession(config or example_config()))


def runner(config: EsphomeMqttConfig, capture_path: Path | None = None) -> MqttSourceRunner:
    return MqttSourceRunner(config.name, config.broker, EsphomeSession(config), capture_path)
