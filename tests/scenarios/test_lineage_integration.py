"""Scenario lots are traceable: the scenario's MES records intake and steps at the gateway (REST), the
scenario's composition records are imported, and lineage/evidence/EPCIS/JWS hold for every closed lot.

The pure parts (records per lot for every shipped scenario, the shipped composition files) run offline;
one short tv_housings_bfr run goes through the real broker, gateway, agent and device simulators.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gateway.composition.csv_format import parse_csv
from gateway.composition.matching import normalise_model
from gateway.traceability.balance import balance
from junkan.core.traceability import DEFAULT_TOLERANCE
from simulators.plantline.compositions import COMPOSITION_DIR, composition_csv
from simulators.plantline.mes import process_records, product_flows
from simulators.plantline.plan import plan_lots
from simulators.plantline.schema import SCENARIO_DIR, load_scenario
from tests.evidence.conftest import validator

NAMES = sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))
DECABDE = "1163-19-5"


@pytest.mark.parametrize("name", NAMES)
def test_shipped_composition_files_are_current_and_import_cleanly(name: str) -> None:
    scenario = load_scenario(name)
    path = COMPOSITION_DIR / f"{name}.csv"
    assert path.read_text(encoding="utf-8") == composition_csv(scenario), \
        "rewrite with: python -m simulators.plantline.compositions"
    parsed = parse_csv(path.read_bytes(), str(path))
    assert not parsed.skipped and not parsed.warnings
    assert sorted(p.model for p in parsed.products) == sorted(m for p in scenario.products for m in p.models)
    assert all(p.manufacturer and p.category and p.mass_mg for p in parsed.products)
    # What the ident camera reads at dismantling (plan events, offline) names a record, exactly one each.
    records = [normalise_model(p.model) for p in parsed.products]
    read = {c["model"] for e in plan_lots(scenario, 1, 1)[0].events if e.device == "ident"
            for c in e.data["model_candidates"]}
    assert read and all(records.count(normalise_model(m)) == 1 for m in read)


def test_tv_records_declare_decabde_in_brominated_back_covers_only() -> None:
    scenario = load_scenario("tv_housings_bfr")
    parsed = parse_csv((COMPOSITION_DIR / "tv_housings_bfr.csv").read_bytes(), "tv")
    crt = set(next(p for p in scenario.products if p.category == "crt_tv").models)
    declaring = {p.model for p in parsed.products for part in p.parts for m in part.materials
                 for s in m.substances if s.cas == DECABDE and m.material_class == "HIPS"}
    assert declaring == crt


@pytest.mark.parametrize("name", NAMES)
def test_records_balance_on_the_models_own_masses(name: str) -> None:
    """Every step of every lot balances with the scale's error on the output as the only unknown."""
    scenario = load_scenario(name)
    for plan in plan_lots(scenario, 3, 2):
        lot = {"lot_id": f"L-{plan.lot_no}", "net_mass_kg": plan.truth["net_mass_kg"] * 1.001,
               "opened_at": "2026-01-01T08:00:00Z", "closed_at": "2026-01-01T09:00:00Z"}
        records = process_records(scenario, 3, plan, lot)
        flows = product_flows(scenario, 3, plan)
        intake = records["intake"][0]
        assert intake["net_mass_kg"] == pytest.approx(sum(f["product_kg"] for f in flows), abs=1e-3)
        assert sum(p["n_items"] for p in intake["products"]) == len(plan.flows)
        assert intake["source_stream"] == ("elv" if name.startswith("elv") else "weee")
        for step in records["steps"]:
            bal = balance(sum(f["mass_kg"] for f in step["inputs"]), sum(f["mass_kg"] for f in step["outputs"]),
                          sum(loss["mass_kg"] for loss in step["losses"]), DEFAULT_TOLERANCE)
            assert bal["ok"], (step["step_id"], bal["reason"])
            assert all(f["mass_kg"] >= 0 for f in step["outputs"]) and all(x["mass_kg"] >= 0 for x in step["losses"])
            assert abs(bal["unaccounted_kg"]) < 0.01 * bal["input_kg"]
        sorting = records["steps"][-1]
        assert sorting["outputs"][0] == {"lot_id": f"L-{plan.lot_no}", "mass_kg": lot["net_mass_kg"],
                                         "role": "product"}
        assert [f["role"] for s in records["steps"] for f in s["outputs"]] == [
            "residue", "product", "product", "residue", "product", "reject"]


def test_wrong_output_mass_breaks_the_sorting_balance() -> None:
    """Negative control: the balance check bites when the gateway's mass disagrees with the line."""
    scenario = load_scenario("appliance_pp_line")
    plan = plan_lots(scenario, 3, 1)[0]
    lot = {"lot_id": "L-1", "net_mass_kg": plan.truth["net_mass_kg"] * 0.8, "opened_at": "2026-01-01T08:00:00Z",
           "closed_at": "2026-01-01T09:00:00Z"}
    step = process_records(scenario, 3, plan, lot)["steps"][-1]
    bal = balance(sum(f["mass_kg"] for f in step["inputs"]), sum(f["mass_kg"] for f in step["outputs"]),
                  sum(loss["mass_kg"] for loss in step["losses"]), DEFAULT_TOLERANCE)
    assert not bal["ok"]


def _flip(token: str) -> str:
    """Change one character in the middle of the JWS payload (stays valid base64url)."""
    head, payload, sig = token.split(".")
    i = len(payload) // 2
    return ".".join((head, payload[:i] + ("B" if payload[i] != "B" else "C") + payload[i + 1:], sig))


@pytest.mark.integration
def test_scenario_lots_are_traced_with_lineage_evidence_epcis_and_signature(tmp_path: Path, shared_dir: Path,
                                                                            junkan: Any) -> None:
    seed, work = 2, tmp_path / "run"
    cmd = [sys.executable, "-m", "junkan.cli", "sim", "scenario", "tv_housings_bfr", "--seed", str(seed),
           "--duration", "30", "--workdir", str(work)]
    run = subprocess.run(cmd, timeout=150, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    truth = [json.loads(line) for line in (work / "truth.jsonl").read_text().splitlines()]
    assert truth, "the run closed no lot"
    scenario = load_scenario("tv_housings_bfr")
    plans = {f"{scenario.line}-S{seed:03d}-{p.lot_no:04d}": p for p in plan_lots(scenario, seed, len(truth))}
    db, epcis = str(work / "gateway.db"), validator(shared_dir, "epcis/EPCIS-JSON-Schema.json")
    for t in truth:
        lid, plan = t["lot_id"], plans[t["lot_id"]]
        flows = product_flows(scenario, seed, plan)
        lin_run = junkan("gateway", "lineage", lid, "--db", db)
        assert lin_run.returncode == 0, lin_run.stderr
        lin = json.loads(lin_run.stdout)
        assert lin["lot_mass_kg"] == pytest.approx(t["net_mass_kg"], rel=1e-3)  # the scale's weighed mass
        assert {s["kind"] for s in lin["steps"]} == {"dismantling", "shredding", "sorting"}
        assert all(s["balance_ok"] for s in lin["steps"])
        models = {m["model"]: m for m in lin["models"]}
        assert set(models) == {f["model"] for f in flows}
        total = sum(m["attributed_kg"] for m in models.values())
        assert total == pytest.approx(lin["source_input_mass_kg"], abs=1e-3)
        # The lot's input mass exceeds its own mass by exactly its share of upstream losses (+ scale error).
        loss_share = sum(s["declared_loss_kg"] / s["input_mass_kg"] for s in lin["steps"])
        assert 1 - DEFAULT_TOLERANCE <= total / lin["lot_mass_kg"] <= 1 + loss_share + DEFAULT_TOLERANCE
        assert all(m["manufacturer"] and m["product_id"] for m in models.values())

        ev_run = junkan("gateway", "evidence", lid, "--db", db, "--format", "json")
        assert ev_run.returncode == 0, ev_run.stderr
        ev = json.loads(ev_run.stdout)
        assert ev["origin"]["status"] == "traced" and "origin: untraced" not in ev["data_gaps"]
        assert ev["origin"]["models"] and ev["origin"]["manufacturers"]
        assert ev["declared_substances"]["models_without_record"] == []
        crt_kg = sum(f["product_kg"] for f in flows if f["category"] == "crt_tv")
        expected = crt_kg / sum(f["product_kg"] for f in flows)
        deca = [s for s in ev["declared_substances"]["substances"] if s["cas"] == DECABDE]
        if crt_kg:
            assert deca and deca[0]["can_carry_over"]
            assert deca[0]["source_share"] == pytest.approx(expected, abs=1e-4)
        else:
            assert not deca

        epcis_run = junkan("gateway", "evidence", lid, "--db", db, "--format", "epcis")
        doc = json.loads(epcis_run.stdout)
        assert [e.message for e in epcis.iter_errors(doc)] == []
        events = doc["epcisBody"]["eventList"]
        assert sum(e["type"] == "TransformationEvent" for e in events) == 3

        jwt = tmp_path / f"{lid}.jwt"
        assert junkan("gateway", "evidence", lid, "--db", db, "--format", "jws", "--out", str(jwt)).returncode == 0
        key = str(work / "plant_public_key.pem")
        ok = junkan("verify", str(jwt), "--key", key)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        jwt.write_text(_flip(jwt.read_text().strip()))
        assert junkan("verify", str(jwt), "--key", key).returncode == 1
