"""`junkan demo`: a whole line on this machine — broker, gateway, agent, MT-SICS scale simulator.

Prints the lots as the gateway stored them beside the simulator's truth. With ``--duration`` it stops
by itself and leaves ``truth.jsonl`` and ``gateway.db`` in the working folder.
"""

from __future__ import annotations

import argparse
import threading
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from junkan.plant import Plant


def register(top: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = top.add_parser("demo", help="Run a plant in a box: simulated scale -> agent -> MQTT -> gateway.")
    p.add_argument("--duration", type=float, help="Stop after this many seconds (default: until Ctrl-C).")
    p.add_argument("--workdir", default="demo-run", help="Folder for logs, truth.jsonl and gateway.db.")
    p.add_argument("--seed", type=int, default=1, help="Scenario seed.")
    p.add_argument("--speed", type=float, default=1.0, help="Time compression of the scenario.")
    p.add_argument("--port", type=int, help="API / dashboard port (default: a free one).")
    p.add_argument("--protocol", default="mt-sics",
                   choices=["mt-sics", "and-ad", "sartorius-sbi", "ohaus", "toledo"],
                   help="Scale protocol: firmware_configs/lines/demo_line_<protocol>.yaml (mt-sics: demo_line.yaml).")
    p.set_defaults(func=run)


def fresh_workdir(workdir: Path) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    for pattern in ("truth.jsonl", "gateway.db*", "*-outbox.db*", "*.log", "agent.yaml"):
        for path in workdir.glob(pattern):
            path.unlink()


def run(args: argparse.Namespace) -> int:
    from simulators.commands.scale import rest_operator
    from simulators.pty_port import PtyPort
    from simulators.scales.devices import make_device
    from simulators.scales.platform import ContainerScenario, PlatformScale

    console = Console()
    workdir = Path(args.workdir)
    fresh_workdir(workdir)
    plant = Plant(workdir, line_config=demo_line_config(args.protocol), api_port=args.port)
    port = PtyPort()
    scenario = ContainerScenario(line="line-1", seed=args.seed, speed=args.speed)
    try:
        plant.start_broker()
        plant.start_gateway()
        scale = PlatformScale(seed=args.seed)
        threading.Thread(target=make_device(args.protocol, scale, port, seed=args.seed).serve,
                         args=(plant.stop_event,), daemon=True).start()
        # A compressed scenario settles faster: poll faster so N stable frames still fit in a settle period.
        polled = "poll_interval_s" in plant.line_config.read_text(encoding="utf-8")
        poll = {"devices.0.poll_interval_s": round(max(0.02, 0.1 / args.speed), 3)} if polled and args.speed > 1 else {}
        plant.start_agent(plant.agent_config({"scale-pp": port.path}, overrides=poll))
        plant.wait_agent_online("agent-line-1")
        console.print(f"API: {plant.api}/docs")
        console.print(f"Dashboard: {plant.api}/")
        console.print(f"Broker: mqtt://127.0.0.1:{plant.broker.port}   working folder: {plant.workdir}")
        sim = threading.Thread(
            target=scenario.run,
            args=(scale, plant.stop_event, rest_operator(plant.api, "line-1"), plant.workdir / "truth.jsonl"),
            daemon=True)
        sim.start()
        deadline = time.monotonic() + args.duration if args.duration else None
        shown = 0
        while deadline is None or time.monotonic() < deadline:
            time.sleep(1.0)
            if len(scenario.truth) > shown:
                shown = len(scenario.truth)
                console.print(f"lot {scenario.truth[-1]['lot_id']} closed by the operator "
                              f"(true net {scenario.truth[-1]['net_mass_kg']:.2f} kg)")
        plant.stop_event.set()
        sim.join(timeout=10)
        expected = {t["lot_id"] for t in scenario.truth}
        try:
            plant.wait_for(lambda: expected <= closed_lot_ids(plant), 30, "every closed lot at the gateway")
        except TimeoutError as exc:
            console.print(f"[red]{exc}[/red]")
        console.print(lots_table(plant.get("/api/v1/lots?limit=1000"), scenario.truth))
    except KeyboardInterrupt:
        console.print("stopping")
    finally:
        plant.stop()
        port.close()
    from gateway.evidence.keys import write_plant_public_key

    pub = write_plant_public_key(plant.workdir)  # evidence signing key: keys/ + the public half for recyclers
    console.print(f"Plant signing key: {plant.workdir / 'keys'}; public key for verifiers: {pub}")
    console.print(f"Left in {plant.workdir}: truth.jsonl, gateway.db "
                  f"(try: junkan gateway export --db {plant.db_path} lots)")
    return 0


def demo_line_config(protocol: str) -> Path:
    """The line config for a scale protocol: demo_line.yaml for MT-SICS, demo_line_<protocol>.yaml else."""
    from junkan.plant import REPO_CONFIGS

    name = "demo_line.yaml" if protocol == "mt-sics" else f"demo_line_{protocol.replace('-', '_')}.yaml"
    return REPO_CONFIGS / "lines" / name


def closed_lot_ids(plant: Plant) -> set[str]:
    return {lot["lot_id"] for lot in plant.get("/api/v1/lots?status=closed&limit=1000")}


def lots_table(stored: list[dict], truth: list[dict]) -> Table:  # type: ignore[type-arg]
    by_id = {t["lot_id"]: t for t in truth}
    table = Table(title="Lots at the gateway vs simulator truth")
    for col in ("lot", "status", "weighings", "stored net kg", "true net kg", "error %"):
        table.add_column(col, justify="right" if col != "lot" else "left", no_wrap=True)
    for lot in sorted(stored, key=lambda r: r["opened_at"]):
        t = by_id.get(lot["lot_id"])
        err = f"{100 * (lot['net_mass_kg'] - t['net_mass_kg']) / t['net_mass_kg']:+.3f}" if t else "-"
        table.add_row(lot["lot_id"], lot["status"], str(lot["n_weighings"]), f"{lot['net_mass_kg']:.2f}",
                      f"{t['net_mass_kg']:.2f}" if t else "(open)", err)
    return table
