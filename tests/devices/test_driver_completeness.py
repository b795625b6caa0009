"""The contract for every registered driver: module, simulator, example config, golden cases.

Fails when a driver in ``DRIVERS`` lacks any of the four pieces, or when a simulator imports the agent's
drivers (simulators encode, drivers decode; each would hide the other's mistakes otherwise).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from pathlib import Path

import pytest
import yaml
from pydantic import TypeAdapter

from edge_agent.config import DeviceConfig
from edge_agent.drivers import DRIVERS

ROOT = Path(__file__).resolve().parents[2]
KEYS = sorted(DRIVERS)


def _module_file(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.origin, f"module {name} not found"
    return Path(spec.origin)


@pytest.mark.parametrize("key", KEYS)
def test_driver_module(key: str) -> None:
    spec = DRIVERS[key]
    assert spec.key == key
    module = spec.runner.__module__
    assert module.startswith("edge_agent.drivers."), f"{key}: runner lives in {module}"
    assert _module_file(module).is_file()
    assert spec.config.model_fields["type"].annotation is not None
    assert spec.config.model_config.get("extra") == "forbid", f"{key}: config must reject unknown keys"
    undocumented = [n for n, f in spec.config.model_fields.items() if not f.description]
    assert not undocumented, f"{key}: config fields without a description: {undocumented}"


@pytest.mark.parametrize("key", KEYS)
def test_simulator_exists_and_does_not_import_drivers(key: str) -> None:
    name = DRIVERS[key].simulator
    assert name.startswith("simulators."), f"{key}: simulator {name!r} is not under simulators/"
    path = _module_file(name)
    files = sorted(path.parent.rglob("*.py")) if path.name == "__init__.py" else [path]
    for file in files:
        tree = ast.parse(file.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            bad = [m for m in mods if m.startswith("edge_agent")]
            assert not bad, f"{file} (simulator of {key}) imports {bad}"
    importlib.import_module(name)


@pytest.mark.parametrize("key", KEYS)
def test_example_config_validates_as_a_device_entry(key: str) -> None:
    path = ROOT / "firmware_configs" / "devices" / f"{key}.example.yaml"
    assert path.is_file(), f"missing {path.relative_to(ROOT)}"
    text = path.read_text(encoding="utf-8")
    assert text.lstrip().startswith("#"), f"{path.name}: explain the device in comments first"
    entry = yaml.safe_load(text)
    config = TypeAdapter(DeviceConfig).validate_python(entry)
    assert config.type == key
    assert isinstance(config, DRIVERS[key].config)


@pytest.mark.parametrize("key", KEYS)
def test_golden_cases_exist(key: str) -> None:
    folder = ROOT / "tests" / "golden" / key
    cases = [c for c in folder.glob("*/") if c.is_dir()] if folder.is_dir() else []
    assert cases, f"missing golden cases tests/golden/{key}/<case>/"
    for case in cases:
        assert any(p.name.startswith("input.") for p in case.iterdir()), f"{case}: no input.* file"
        assert (case / "expected.jsonl").is_file(), f"{case}: no expected.jsonl"
