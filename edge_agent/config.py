"""Agent configuration: validated once at start-up; unknown keys are rejected and every field described.

Secrets (the MQTT password) come from a file or an environment variable, never from the YAML itself.
"""

from __future__ import annotations

import functools
import operator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import yaml
from pydantic import Field, ValidationError

from edge_agent.drivers import DRIVERS
from junkan.core.config import ConfigError, StrictConfig, format_validation_error
from junkan.core.measurement import MeasurementParams
from junkan.core.mqtt import MqttConfig
from junkan.core.overrides import apply_overrides

_Model = StrictConfig


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
    lot_state_interval_s: float = Field(
        default=10.0, ge=0, description="The open lot's folded evidence is written to the outbox at most this often "
        "(lot events, weighings, containers placed and zero changes write it at once); acked messages newer than "
        "the last write are kept and re-folded after a crash. Saves SD-card writes; 0: with every message.")
    commit_interval_s: float = Field(
        default=0.0, ge=0, le=30, description="Group commit for SD cards: readings and telemetry wait in memory up "
        "to this long and are committed (fsync'd) together; weighings and lot events commit at once. A power cut "
        "loses at most this many seconds of unsent readings, never one the gateway has. 0: commit every message "
        "(docs/reliability.md 'SD-card writes').")


class LotConfig(_Model):
    max_mass_kg: float | None = Field(default=None, gt=0, description="Close a lot automatically at this mass.")
    max_duration_s: float | None = Field(default=None, gt=0, description="Close a lot automatically after this.")
    auto_open: bool = Field(default=True, description="Open a lot by itself when a weighing arrives and none is open.")
    zero_band_kg: float = Field(default=0.5, ge=0, description="Below this the platform counts as empty.")
    telemetry_interval_s: float = Field(default=2.0, gt=0, description="Live weight telemetry period per scale.")
    frame_gap_s: float = Field(
        default=5.0, gt=0, description="A scale silent this long has a gap: a container seen loaded after it has an "
        "unknown tare unless the load is explained (docs/reliability.md 'Weighing across restarts').")
    resume_max_gap_s: float = Field(
        default=20.0, gt=0, description="A container on the scale before a gap (restart, link lost) is resumed after "
        "it only if the gap was shorter than this (a whole container swap takes longer) and the load did not drop.")
    empty_container_tare_kg: tuple[float, float] | None = Field(
        default=None, description="[min, max] tare of the plant's empty containers: a load in this range after a "
        "gap is taken as a container just placed (its tare is then known).")


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


class ClockConfig(_Model):
    step_threshold_s: float = Field(default=2.0, gt=0, description="A jump of the wall clock against the monotonic "
                                    "clock beyond this is a clock step: alarm, lot flagged, held times shifted.")
    require_sync: bool = Field(default=False, description="Flag lots while the kernel says the clock is not NTP "
                               "synchronised (turn on where NTP is configured; a Pi without RTC).")
    sync_check_interval_s: float = Field(default=30.0, gt=0, description="How often the sync state is read.")
    device_ahead_tolerance_s: float = Field(
        default=300.0, gt=0, description="A reading stamped by its device (an XRF's clock) this far ahead of the "
        "agent's clock: the clocks disagree; the lot counts it on arrival and is flagged `device_clock`.")


class SimulationConfig(_Model):
    """Simulated plants only (``junkan sim scenario``): the agent refuses to start with this section unless
    its environment has ``JUNKAN_SIMULATION=1``, which only the simulated plant sets."""

    clock_offset_file: Path = Field(description="A file holding seconds added to the agent's wall clock; the "
                                    "scenario runner rewrites it to apply the `clock_step` fault.")


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
    clock: ClockConfig = Field(default_factory=ClockConfig, description="Wall-clock steps and synchronisation.")
    simulation: SimulationConfig | None = Field(default=None, description="Simulation only (refused in a "
                                                "plant): hooks a scenario runner uses to apply faults.")
    metrics_port: int | None = Field(default=None, description="Serve Prometheus /metrics on this port.")
    metrics_host: str = Field(default="127.0.0.1", description="Address /metrics listens on: loopback by default "
                              "(the metrics say which devices and lots exist); 0.0.0.0 or the LAN address for a "
                              "Prometheus on another machine.")


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


__all__ = ["AgentConfig", "ConfigError", "MqttConfig", "load_config"]
