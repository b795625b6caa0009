"""`junkan sim scenario NAME --seed N [--duration S] [--workdir DIR] [--offline LOTS]`: a whole line with truth."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("scenario", help="Run a whole-line scenario (broker, gateway, agent, devices) with truth.")
    p.add_argument("name", help="Scenario name (simulators/scenarios/<name>.yaml) or a path to a YAML file.")
    p.add_argument("--seed", type=int, default=1, help="Random seed (same seed, same lots).")
    p.add_argument("--duration", type=float, default=120.0, help="Run time in wall seconds.")
    p.add_argument("--workdir", default=None,
                   help="Folder for truth.jsonl, gateway.db and logs (default scenario-run/NAME).")
    p.add_argument("--offline", type=int, metavar="LOTS",
                   help="No processes: play LOTS lots straight into the measurement; writes truth.jsonl and "
                        "measurements.jsonl (score with --measurements).")
    p.add_argument("--no-process-records", action="store_true",
                   help="Do not import composition records or record intake/steps at the gateway (origin untraced).")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from simulators.plantline.schema import load_scenario

    try:
        scenario = load_scenario(args.name)
    except ValueError as exc:
        print(f"error: {exc}")
        return 2
    workdir = Path(args.workdir or f"scenario-run/{scenario.name}")
    workdir.mkdir(parents=True, exist_ok=True)
    if args.offline:
        from simulators.plantline.offline import run_offline

        truth, stored = run_offline(scenario, args.seed, args.offline)
        (workdir / "truth.jsonl").write_text("".join(json.dumps(t) + "\n" for t in truth), encoding="utf-8")
        (workdir / "measurements.jsonl").write_text("".join(json.dumps(s) + "\n" for s in stored.values()),
                                                    encoding="utf-8")
        print(f"{len(truth)} lots -> {workdir}/truth.jsonl, {workdir}/measurements.jsonl")
        return 0
    from junkan.scenario_runner import run_scenario

    truth = run_scenario(scenario, args.seed, args.duration, workdir, record_process=not args.no_process_records)
    from gateway.evidence.keys import write_plant_public_key

    write_plant_public_key(workdir)  # keys/ + plant_public_key.pem: `junkan verify FILE --key ...`
    print(f"{len(truth)} closed lots; truth in {workdir}/truth.jsonl, gateway store {workdir}/gateway.db")
    print(f"score: junkan sim score --truth {workdir}/truth.jsonl --db {workdir}/gateway.db")
    if truth:
        lot = truth[0]["lot_id"]
        print(f"lineage: junkan gateway lineage {lot} --db {workdir}/gateway.db   (process records: "
              f"{workdir}/process.jsonl)")
        print(f"evidence: junkan gateway evidence {lot} --db {workdir}/gateway.db --format json|epcis|jws")
    return 0
