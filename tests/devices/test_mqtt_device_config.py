"""What the MQTT-source drivers' configs share (``mqtt_source.MqttDeviceConfig``): one weight per device,
report-by-exception defaults, and the broker login the agent's own MQTT config has too."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from edge_agent.drivers.esphome_mqtt import EsphomeMqttConfig
from edge_agent.drivers.sparkplug_b import SparkplugBConfig

WEIGHT = {"kind": "weight", "assume_stable": True}
CASES: list[tuple[Any, dict[str, Any], str, str]] = [
    (EsphomeMqttConfig, {"type": "esphome_mqtt", "topic_prefix": "scale"}, "entities", "entity"),
    (SparkplugBConfig, {"type": "sparkplug_b", "group_id": "g", "edge_node_id": "n"}, "metrics", "metric"),
]


def _maps(key: str, n: int) -> list[dict[str, Any]]:
    name = "entity" if key == "entities" else "metric"
    return [{name: f"sensor/w{i}" if key == "entities" else f"Scale/W{i}", **WEIGHT} for i in range(n)]


@pytest.mark.parametrize(("cls", "base", "key", "word"), CASES)
def test_one_weight_per_device_and_report_by_exception_defaults(cls: Any, base: dict[str, Any], key: str,
                                                                word: str) -> None:
    one = cls.model_validate({"name": "dev", **base, key: _maps(key, 1)})
    assert (one.stable_frames, one.stale_after_s, one.division_kg) == (1, 600.0, 0.02)
    with pytest.raises(ValidationError, match=f"at most one weight {word} per device"):
        cls.model_validate({"name": "dev", **base, key: _maps(key, 2)})


def test_a_device_broker_logs_in_as_the_agent_broker_does(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUNKAN_TEST_MQTT_PW", "s3cret")
    config = SparkplugBConfig.model_validate({"name": "dev", **CASES[1][1], "metrics": _maps("metrics", 1),
                                              "broker": {"username": "u", "password_env": "JUNKAN_TEST_MQTT_PW"}})
    assert config.broker.password() == "s3cret" and config.broker.port == 1883
    with pytest.raises(ValidationError, match="tls"):  # a device broker takes ca_file, not the agent's tls block
        SparkplugBConfig.model_validate({"name": "dev", **CASES[1][1], "metrics": _maps("metrics", 1),
                                         "broker": {"tls": {"ca_file": "ca.pem"}}})
