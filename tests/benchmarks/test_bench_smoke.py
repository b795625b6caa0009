"""The bench runner produces the JSON shape `make bench` promises (tiny sizes; speed is not asserted)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.benchmarks import run


def test_runner_writes_value_baseline_ratio(tmp_path: Path) -> None:
    out = tmp_path / "bench-results.json"
    assert run.main(["--quick", "--only", "P2", "--p2-readings", "3000", "--out", str(out)]) == 0
    results = json.loads(out.read_text())
    p2 = results["P2"]
    assert p2["unit"] == "readings/s" and p2["value"] > 0 and p2["baseline"] > 0
    assert abs(p2["ratio"] - p2["value"] / p2["baseline"]) < 0.01
    assert "P1" not in results and results["_meta"]["quick"] is True


def test_verdict_names_met_and_missed_targets() -> None:
    assert run.verdict("P2", {"value": 150_000, "ratio": 0.3}) == "met value>=100000, MISSED ratio>=0.4"
    assert run.verdict("P5", {"value": 3.0}) == "met value<=20"
    assert run.verdict("P7", {"value": 3.0}) == ""


def test_p1_reports_cpu_per_message_beside_the_bare_loop(tmp_path: Path) -> None:
    out = tmp_path / "bench-results.json"
    assert run.main(["--quick", "--only", "P1", "--p1-messages", "400", "--out", str(out)]) == 0
    cpu = json.loads(out.read_text())["P1_cpu"]
    assert cpu["unit"] == "CPU us/message" and cpu["better"] == "lower"
    assert cpu["value"] > 0 and cpu["baseline"] > 0 and abs(cpu["ratio"] - cpu["value"] / cpu["baseline"]) < 0.01
    assert run.verdict("P1_cpu", {"ratio": 1.2}) == "met ratio<=1.5"
    assert run.verdict("P1_cpu", {"ratio": 1.7}) == "MISSED ratio<=1.5"
