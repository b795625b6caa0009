"""Agent configuration: validated once at start-up; unknown keys are rejected and every field described.

Secrets (the MQTT password) come from a file or an environment variable, never from the YAML itself.
"""

from __future__ import annotations

import functools
import operator
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edge_agent.drivers import DRIVERS
from edge_agent.lots.measurement import MeasurementParams
from junkan.overrides import apply_overrides


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TlsConfig(_Model):
    ca_file: str = Field(description="CA certificate (PEM) that signed the broker's certificate.")
    cert_file: str | None = Field(default=None, description="Client certificate (PEM) when the broker requires one.")
    key_file: str | None = Field(default=None, description="Client private key (PEM).")


class MqttConfig(_Model):
    host: str = Field(default="127.0.0.1", description="Broker host name or address.")
    port: int = Field(default=1883, ge=1, le=65535, description="Broker port (8883 for TLS).")
    username: str | None = Field(default=None, description="MQTT user name (usually the agent id).")
    password_file: str | None = Field(default=None, description="File holding the MQTT password.")
    password_env: str | None = Field(default=None, description="Environment variable holding the MQTT password.")
    tls: TlsConfig | None = Field(default=None, description="TLS settings; omit for plain loopback brokers.")
    keepalive_s: int = Field(default=15, ge=5, description="MQTT keepalive (s); the LWT fires after 1.5x this.")
    session_expiry_s: int = Field(
        default=86400, ge=0, description="Broker keeps the agent's session (commands, acks) this long offline."
    )
    reconnect_min_s: float = Field(default=0.2, gt=0, description="First reconnect delay (s).")
    reconnect_max_s: float = Field(default=5.0, gt=0, description="Longest reconnect delay (s).")
    max_inflight: int = Field(default=100, ge=1, description="MQTT QoS1 messages in flight at the paho level.")

    def password(self) -> str | None:
        if self.password_file:
            return Path(self.password_file).read_text(encoding="utf-8").strip()
        if self.password_env:
            return os.environ.get(self.password_env)
        return None


class OutboxConfig(_Model):
    path: str = Field(default="var/agent-outbox.db", description="SQLite file of the durable outbox.")
    max_messages: int = Field(default=2_000_000, ge=100, description="Bound; critical data is never dropped.")
    max_bytes: int | None = Field(
        default=None, ge=1_000_000,
        description="Disk budget of the outbox file; beyond it writes fail as on a full disk.",
    )
    window: int = Field(default=500, ge=1, description="Messages sent ahead of their acks.")
    ack_timeout_s: float = Field(default=10.0, gt=0, description="Resend unacked messages after this (s).")
    batch_size: int = Field(default=50, ge=1, le=1000, description="Readings per MQTT message at most.")
    batch_max_delay_s: float = Field(
        default=0.0, ge=0,
        description="Extra time a reading may wait in memory to fill a batch (0: batch only what already arrived).")


class LotConfig(_Model):
    max_mass_kg: float | None = Field(default=None, gt=0, description="Close a lot automatically at this mass.")
    max_duration_s: float | None = Field(default=None, gt=0, description="Close a lot automatically after this.")
    auto_open: bool = Field(default=True, description="Open a lot by itself when a weighing arrives and none is open.")
    zero_band_kg: float = Field(default=0.5, ge=0, description="Below this the platform counts as empty.")
    telemetry_interval_s: float = Field(default=2.0, gt=0, description="Live weight telemetry period per scale.")


def _device_union() -> Any:
    """A discriminated union on ``type`` over every registered driver's config."""
    configs = [spec.config for spec in DRIVERS.values()]
    if len(configs) == 1:
        return configs[0]
    return Annotated[functools.reduce(operator.or_, configs), Field(discriminator="type")]


if TYPE_CHECKING:  # the union is built at run time from the registry; mypy sees "some device config"
    DeviceConfig = Any
else:
    DeviceConfig = _device_union()


class AgentConfig(_Model):
    site: str = Field(description="Site (plant) id, used in topics.")
    line: str = Field(description="Line id, used in topics and lot ids.")
    agent: str = Field(description="Agent id, unique per broker; also its MQTT client id suffix.")
    mqtt: MqttConfig = Field(default_factory=MqttConfig, description="Broker connection.")
    outbox: OutboxConfig = Field(default_factory=OutboxConfig, description="Durable outbox.")
    lots: LotConfig = Field(default_factory=LotConfig, description="Lot rules.")
    measurement: MeasurementParams = Field(default_factory=MeasurementParams,
                                           description="Lot measurement calibration (densities, thickness, LODs).")
    devices: list[DeviceConfig] = Field(min_length=1, description="Devices this agent reads.")
    status_interval_s: float = Field(default=5.0, gt=0, description="Status (health) publish period.")
    metrics_port: int | None = Field(default=None, description="Serve Prometheus /metrics on this port.")


class ConfigError(Exception):
    """A config file is invalid; the message names the file and the key."""


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> AgentConfig:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: top level must be a mapping")
    try:
        apply_overrides(raw, overrides)
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    try:
        config = AgentConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(path, exc)) from None
    names = [d.name for d in config.devices]
    if len(set(names)) != len(names):
        raise ConfigError(f"{path}: devices: duplicate device names {sorted(names)}")
    return config


def format_validation_error(path: Path, exc: ValidationError) -> str:
    lines = [f"{path}: invalid configuration"]
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        lines.append(f"  {where}: {err['msg']}")
    return "\n".join(lines)
