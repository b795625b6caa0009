"""The scenario fault ``clock_step`` (issue 15.10): the runner moves the agent's wall clock through the offset
file the agent's ``simulation.clock_offset_file`` names, at the step's scenario time (no processes here; the
live effect is asserted by test_adversity)."""

from __future__ import annotations

from pathlib import Path

import yaml

from edge_agent.clock import WallClock
from junkan.scenario_runner import ClockSteps, line_config
from simulators.plantline.schema import load_scenario


def test_the_agent_clock_is_behind_until_the_step_then_right(tmp_path: Path) -> None:
    scenario = load_scenario("appliance_pp_adversity")
    assert [(s.at, s.by_s) for s in scenario.faults.clock_step] == [(3000, 36000)]
    steps = ClockSteps(scenario, tmp_path / "agent-clock-offset")
    agent = WallClock(steps.path, recheck_s=0.0)
    assert agent.offset() == -36000.0  # a Pi that booted 10 h behind
    said: list[str] = []
    steps.tick(2999.0, said.append)
    assert agent.offset() == -36000.0 and said == []
    steps.tick(3010.0, said.append)
    assert agent.offset() == 0.0 and len(said) == 1 and "+36000" in said[0]  # NTP: the clock is right
    steps.tick(4000.0, said.append)
    assert len(said) == 1


def test_the_line_config_names_the_offset_file_only_with_clock_steps(tmp_path: Path) -> None:
    scenario = load_scenario("appliance_pp_adversity")
    with_file = yaml.safe_load(line_config(scenario, tmp_path / "a.yaml", [], None, tmp_path / "off").read_text())
    assert with_file["simulation"] == {"clock_offset_file": str(tmp_path / "off")}
    assert "simulation" not in yaml.safe_load(line_config(scenario, tmp_path / "b.yaml", []).read_text())
