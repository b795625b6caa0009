"""The floors of the house hold at run time too (import-linter checks the static imports in `make check`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def _loaded_after(statement: str) -> list[str]:
    code = f"import sys, json; {statement}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    return list(json.loads(out.stdout.strip().splitlines()[-1]))


def test_gateway_settings_loads_no_agent_module() -> None:
    loaded = _loaded_after("import gateway.settings")
    assert [m for m in loaded if m.startswith(("edge_agent", "simulators"))] == []


@pytest.mark.parametrize("heavy", ["serial", "pymodbus", "numpy", "cv2", "fastapi", "psycopg", "reportlab"])
def test_core_loads_no_role_dependency(heavy: str) -> None:
    loaded = _loaded_after("import junkan.core.messages, junkan.core.measurement, junkan.core.mqtt, "
                           "junkan.core.topics, junkan.core.traceability")
    assert heavy not in loaded


def test_simulators_load_no_gateway_or_driver() -> None:
    loaded = _loaded_after("import simulators.plantline.mes, simulators.plantline.offline, simulators.scales.devices")
    assert [m for m in loaded if m.startswith(("edge_agent", "gateway"))] == []


def test_gateway_example_config_is_valid() -> None:
    from gateway.settings import GatewaySettings

    raw = yaml.safe_load((REPO / "firmware_configs" / "gateway.example.yaml").read_text(encoding="utf-8"))
    settings = GatewaySettings.model_validate(raw)
    assert settings.mqtt.username == "gateway"


def test_serve_help_names_an_existing_example() -> None:
    out = subprocess.run([sys.executable, "-m", "junkan.cli", "gateway", "serve", "--help"], capture_output=True,
                         text=True, check=True, cwd=REPO).stdout
    named = [w.strip("().,") for w in out.split() if w.strip("().,").endswith(".example.yaml")]
    assert named, out
    for path in named:
        assert (REPO / path).is_file(), path
