"""The contract for every registered driver: module, simulator, example config, golden cases, one name.

Fails when a driver in ``DRIVERS`` lacks any of the four pieces, when one of them is not named by the
driver key (module, simulator module, example config, golden folder, ``<Key>Config``), when a declared
capability disagrees with the config, or when a simulator imports the agent's drivers (simulators encode,
drivers decode; each would hide the other's mistakes otherwise).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import subprocess
import sys
import tomllib
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


def _camel(key: str) -> str:
    return "".join(part.capitalize() for part in key.split("_"))


@pytest.mark.parametrize("key", KEYS)
def test_one_name_per_device(key: str) -> None:
    """driver key = driver module = simulator module = example config = golden folder = <Key>Config."""
    spec = DRIVERS[key]
    module = f"edge_agent.drivers.{key}"
    for part, obj in (("runner", spec.runner), ("decoder", spec.decoder), ("config", spec.config)):
        assert obj.__module__ == module, f"{key}: {part} lives in {obj.__module__}, not {module}"
    # letter case may follow the product's own spelling (OpcUaConfig for opcua)
    assert spec.config.__name__.lower() == f"{_camel(key)}Config".lower(), f"{key}: config {spec.config.__name__}"
    assert spec.simulator.rsplit(".", 1)[-1] == key, f"{key}: simulator module {spec.simulator} is not named {key}"
    assert (ROOT / "firmware_configs" / "devices" / f"{key}.example.yaml").is_file()
    assert (ROOT / "tests" / "golden" / key).is_dir()


@pytest.mark.parametrize("key", KEYS)
def test_declared_capabilities(key: str) -> None:
    """``weighs`` matches the config (the weighing detector needs division_kg and stable_frames); every
    required module is one the declared extra of pyproject.toml installs here."""
    spec = DRIVERS[key]
    fields = spec.config.model_fields
    assert spec.weighs == ("division_kg" in fields and "stable_frames" in fields), f"{key}: weighs={spec.weighs}"
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    assert spec.extra in extras, f"{key}: extra {spec.extra!r} is not in pyproject.toml"
    for name in spec.requires:
        importlib.import_module(name)  # the dev install has every extra


_HIDE_CV2 = """
import importlib.abc, sys
class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "cv2" or name.startswith("cv2."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, Hide())
from junkan.cli import main
sys.exit(main(["agent", "run", "--config", sys.argv[1]]))
"""


def test_missing_extra_fails_at_start_with_one_line(tmp_path: Path) -> None:
    """A camera configured on a machine without OpenCV: exit 2 and one line naming the extra to install,
    not a ModuleNotFoundError traceback from the device thread."""
    config = tmp_path / "line.yaml"
    config.write_text(yaml.safe_dump({
        "site": "s", "line": "l", "agent": "a", "outbox": {"path": str(tmp_path / "outbox.db")},
        "mqtt": {"host": "127.0.0.1", "port": 1},
        "devices": [{"name": "cam-1", "type": "camera", "source": "0"}]}), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", _HIDE_CV2, str(config)], capture_output=True, text=True,
                          timeout=60, env=env, cwd=tmp_path)
    err = proc.stderr.strip()
    assert proc.returncode == 2, (proc.returncode, err)
    assert len(err.splitlines()) == 1, err
    assert "pip install 'junkan[vision]'" in err and "cam-1" in err and "Traceback" not in err
    assert not (tmp_path / "outbox.db").exists()  # refused before anything was opened


def test_missing_requirements_names_each_device_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses
    from types import SimpleNamespace

    from edge_agent.drivers import missing_requirements

    monkeypatch.setitem(DRIVERS, "camera", dataclasses.replace(DRIVERS["camera"], requires=("cv2", "no_such_mod_x")))
    devices = [SimpleNamespace(name="cam-1", type="camera"), SimpleNamespace(name="s", type="mt_sics")]
    (line,) = missing_requirements(devices)
    assert line == ("device 'cam-1' (camera) needs the vision extra (No module named 'no_such_mod_x'): "
                    "pip install 'junkan[vision]'")
