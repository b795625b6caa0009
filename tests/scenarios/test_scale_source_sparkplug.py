"""Issue 19: a Sparkplug B edge node (pysparkplug in its own venv, not junkan's encoder) is the output scale of
a whole line (appliance_pp_sparkplug), through the plant's real Mosquitto to the agent's ``sparkplug_b``
driver and on into lots, scored against the scenario truth.

The node dies while a container fills (SIGKILL: the broker publishes its Will, NDEATH with bdSeq 0) and
boots again (bdSeq 1, NBIRTH + DBIRTH showing the half-full container). That lot must say so (device
offline, the container's weighing out of the mass) instead of an ok mass; every other container, the one
weighed after the rebirth included, must match truth. The venv is built when missing (as the other Sparkplug
tests do, `make sim-venvs` builds it first); the test skips only when the package registry is unreachable.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from simulators.commands.score import ok_zero_weighings, read_lots
from simulators.plantline.model import PLACE_S, SETTLE_S
from simulators.plantline.plan import plan_lots
from simulators.plantline.scale_sources import SPARKPLUG_PYTHON_ENV
from simulators.plantline.schema import load_scenario
from simulators.plantline.score import UNFLAGGED_TOLERANCE_PCT, score
from tests.devices.mqtt_sources import sim_venv

REPO = Path(__file__).resolve().parents[2]
SCENARIO, SEED, DURATION_S = "appliance_pp_sparkplug", 2, 42  # two lots of ~20 wall s at speed 40
DIVISION_KG = 0.02


def _dying_container() -> tuple[int, int]:
    """(lot number, container index) the scenario's node death falls into: it must be while a container is
    on the platform, back before it is removed (2 wall s down, up to ~2 s to boot), or the test would not
    test a death mid-container."""
    sc = load_scenario(SCENARIO)
    (t_death,) = sc.faults.scale_restart_at
    for plan in plan_lots(sc, SEED, 2):
        for i, c in enumerate(plan.containers):
            placed = c.fill_start - (PLACE_S + SETTLE_S) * sc.speed
            removed = c.fill_end + SETTLE_S * sc.speed
            if placed < t_death and t_death + 4.5 * sc.speed < removed:
                return plan.lot_no, i
    raise AssertionError(f"scale_restart_at {t_death} s is not while a container of the first two lots is on the "
                         "platform, with time to come back before it is removed")


def _readings(db: Path, kind: str) -> list[dict[str, Any]]:
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        rows = conn.execute("SELECT lot_id, value, status, data FROM readings WHERE kind=? AND device='scale-out' "
                            "ORDER BY ts", (kind,)).fetchall()
    return [{"lot_id": r[0], "value": r[1], "status": r[2], "data": json.loads(r[3] or "{}")} for r in rows]


@pytest.mark.integration
@pytest.mark.slow  # a whole line per source, ~1-1.5 min each: `make interop` (make test runs the device tests)
def test_sparkplug_node_feeds_a_line_and_its_death_flags_the_lot(tmp_path: Path) -> None:
    spb_python = sim_venv("sparkplug", "pysparkplug==0.6.1", "pysparkplug")
    dying_lot, dying_container = _dying_container()
    work = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "junkan.cli", "sim", "scenario", SCENARIO, "--seed", str(SEED),
         "--duration", str(DURATION_S), "--workdir", str(work)],
        capture_output=True, text=True, timeout=180, cwd=REPO,
        env={**os.environ, SPARKPLUG_PYTHON_ENV: str(spb_python)})
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "scale over sparkplug_b" in out and "fault: the scale source restarts" in out, out[-2000:]

    truth = [json.loads(line) for line in (work / "truth.jsonl").read_text().splitlines()]
    db = work / "gateway.db"
    rows, summary = score(truth, read_lots(db))
    assert summary["lots"] == 2 and summary["truth_lots_not_closed_at_gateway"] == 0, summary
    assert summary["unflagged_wrong_lots"] == 0 and ok_zero_weighings(db) == 0, summary

    # The node's side: bdSeq 0 until the kill, then a new session with bdSeq 1 whose BIRTH shows the loaded
    # platform; the agent's rebirth request (on its own connect) was served.
    log = [json.loads(line) for line in (work / "sparkplug-log.jsonl").read_text().splitlines()]
    dbirths = [e for e in log if e["what"] == "birth" and "/DBIRTH/" in e["topic"]]
    assert [e["bd_seq"] for e in dbirths] == [0, 1], dbirths
    assert dbirths[1]["state"]["w"] > 1.0, "the node came back with an empty platform: not a death mid-container"
    assert any(e["what"] == "rebirth" for e in log), "the agent's NCMD rebirth was not served"

    # The agent's side: the NDEATH and the new session, both in the lot the death fell into.
    dying_id = truth[dying_lot - 1]["lot_id"]
    events = [(e["lot_id"], e["data"].get("event"), e["data"].get("reason") or e["data"].get("bd_seq"))
              for e in _readings(db, "source_event")]
    assert events == [(dying_id, "offline", "NDEATH (bdSeq 0)"), (dying_id, "online", 1)], events

    weighings = _readings(db, "weighing")
    for t, row in zip(truth, rows, strict=True):
        ok = [w["value"] for w in weighings if w["lot_id"] == t["lot_id"] and w["status"] == "ok"]
        nets = [c["net_kg"] for c in t["containers"]]
        if t["lot_id"] == dying_id:
            assert set(row["degraded"]) == {"scale-out"}, row  # flagged, and by the scale only
            reasons = [d["reason"] for d in read_lots(db)[dying_id]["measurement"]["devices"]["degraded"]]
            assert any(r.startswith("offline") for r in reasons), reasons
            assert [w["data"].get("reason") for w in weighings
                    if w["lot_id"] == dying_id and w["status"] != "ok"] == ["tare_unknown"], weighings
            nets = [n for i, n in enumerate(nets) if i != dying_container]  # its mass is unknown, not guessed
        else:
            assert row["degraded"] == [] and row["missing"] == [], row
            assert abs(row["mass_error_pct"]) <= UNFLAGGED_TOLERANCE_PCT, row
        assert len(ok) == len(nets), (t["lot_id"], ok, nets)
        for got, true in zip(ok, nets, strict=True):
            assert abs(got - true) <= 2 * DIVISION_KG, (t["lot_id"], got, true)
        assert row["mass_kg"] == pytest.approx(sum(ok), abs=1e-6)


def test_a_missing_simulator_venv_is_one_line_naming_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from junkan.core.errors import UserError
    from simulators.plantline.scale_sources import sparkplug_python

    monkeypatch.setenv(SPARKPLUG_PYTHON_ENV, str(tmp_path / "no-venv" / "python"))
    with pytest.raises(UserError, match="make sim-venvs"):
        sparkplug_python()
