"""Configs fail fast, naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from edge_agent.config import ConfigError, load_config

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, data: dict) -> Path:  # type: ignore[type-arg]
    path = tmp_path / "line.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def demo() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((REPO / "firmware_configs/lines/demo_line.yaml").read_text(encoding="utf-8"))


def test_demo_line_config_is_valid() -> None:
    config = load_config(REPO / "firmware_configs/lines/demo_line.yaml")
    assert config.devices[0].type == "mt_sics"


def test_unknown_key_is_named_with_the_file(tmp_path: Path) -> None:
    data = demo()
    data["outbox"]["max_mesages"] = 10
    path = write(tmp_path, data)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(path) in str(err.value) and "outbox.max_mesages" in str(err.value)


def test_wrong_type_in_device_is_named(tmp_path: Path) -> None:
    data = demo()
    data["devices"][0]["division_kg"] = "fine"
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, data))
    assert "devices.0" in str(err.value) and "division_kg" in str(err.value)


def test_duplicate_device_names_rejected(tmp_path: Path) -> None:
    data = demo()
    data["devices"].append(dict(data["devices"][0]))
    with pytest.raises(ConfigError, match="duplicate device names"):
        load_config(write(tmp_path, data))


def test_bad_topic_segment_rejected_at_start() -> None:
    from junkan.core.topics import AgentTopics

    with pytest.raises(ValueError, match="not a valid topic segment"):
        AgentTopics("site", "line/1", "agent")


def test_set_overrides_reach_list_items_and_name_bad_keys(tmp_path: Path) -> None:
    path = write(tmp_path, demo())
    config = load_config(path, {"devices.0.poll_interval_s": 0.05, "mqtt.port": 18830})
    assert config.devices[0].poll_interval_s == 0.05 and config.mqtt.port == 18830
    with pytest.raises(ConfigError, match=r"devices\.5\.name"):
        load_config(path, {"devices.5.name": "x"})
