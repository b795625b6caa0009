"""Gateway settings: one validated model, loaded from YAML (optional) plus ``--set`` overrides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edge_agent.config import MqttConfig, format_validation_error


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApiSettings(_Model):
    host: str = Field(default="127.0.0.1", description="Address the REST API and dashboard listen on.")
    port: int = Field(default=8080, ge=0, le=65535, description="Port (0 picks a free one).")


class GatewaySettings(_Model):
    db_url: str = Field(default="sqlite:///var/gateway.db", description="sqlite:///PATH or postgresql://...")
    mqtt: MqttConfig = Field(default_factory=MqttConfig, description="Broker connection.")
    api: ApiSettings = Field(default_factory=ApiSettings, description="REST API / dashboard.")
    share_group: str = Field(default="junkan-gateway", description="MQTT shared-subscription group of the workers.")
    worker_id: str = Field(default="gw1", description="Unique per worker process; part of the MQTT client id.")
    batch_max: int = Field(default=500, ge=1, description="Messages committed per transaction at most.")
    max_payload_bytes: int = Field(default=1_000_000, ge=1024, description="Larger payloads are dead-lettered.")
    consume: bool = Field(default=True, description="Run the MQTT consumer (off: API only, e.g. for exports).")


class SettingsError(Exception):
    pass


def load_settings(path: str | Path | None, overrides: dict[str, Any] | None = None) -> GatewaySettings:
    raw: dict[str, Any] = {}
    where = Path(path) if path else Path("<defaults>")
    if path:
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise SettingsError(f"{path}: cannot read settings: {exc}") from exc
        if not isinstance(loaded, dict):
            raise SettingsError(f"{path}: top level must be a mapping")
        raw = loaded
    for dotted, value in (overrides or {}).items():
        node = raw
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    try:
        return GatewaySettings.model_validate(raw)
    except ValidationError as exc:
        raise SettingsError(format_validation_error(where, exc)) from None
