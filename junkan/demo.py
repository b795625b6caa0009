"""`junkan demo`: the whole line on this machine, the product as an operator and a recycler see it.

Default: a whole-line scenario (``tv_housings_bfr``: output scale, NIR sorter over Modbus, QC NIR, XRF, ident
and conveyor cameras, composition records imported, intake and process steps recorded by a simulated MES)
through real broker, gateway and agent processes. The plant's signing keys are made at start, so every
evidence format downloads while it runs. Prints the Dashboard URL first, one line per closed lot as the
gateway measured it, and the next steps at the end. ``--scale-only`` is the old one-scale demo.

SIGTERM is handled like Ctrl-C (every child stopped in order); children also get SIGTERM from the kernel if
this process is killed outright (PR_SET_PDEATHSIG, ``junkan.broker.die_with_parent``).
"""

from __future__ import annotations

import argparse
import signal
import threading
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from junkan.core.console import wide_console
from junkan.demo_output import LotPrinter, lots_table, next_steps
from junkan.plant import Plant

DEFAULT_SCENARIO = "tv_housings_bfr"  # shows what the product is for: models, BFR flags, traced origin


def register(top: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = top.add_parser("demo", help="Run the whole line on this machine: scale, NIR, XRF, cameras -> agent -> "
                                    "MQTT -> gateway -> dashboard and signed evidence.")
    p.add_argument("--duration", type=float, default=150.0,
                   help="Run time in wall seconds (default 150; 0 = until Ctrl-C / SIGTERM).")
    p.add_argument("--workdir", default="demo-run", help="Folder for logs, keys, truth.jsonl and gateway.db.")
    p.add_argument("--scenario", default=DEFAULT_SCENARIO,
                   help="Whole-line scenario (simulators/scenarios/<name>.yaml).")
    p.add_argument("--seed", type=int, default=2, help="Scenario seed (same seed, same lots).")
    p.add_argument("--port", type=int, help="API / dashboard port (default: a free one).")
    p.add_argument("--scale-only", action="store_true", help="The small demo: one simulated scale, no NIR/XRF/"
                                                             "cameras/records.")
    p.add_argument("--speed", type=float, default=1.0, help="--scale-only: time compression of the scale.")
    p.add_argument("--protocol", default="mt-sics",
                   choices=["mt-sics", "and-ad", "sartorius-sbi", "ohaus", "toledo"],
                   help="--scale-only: scale protocol (firmware_configs/lines/demo_line_<protocol>.yaml).")
    p.set_defaults(func=run)


def fresh_workdir(workdir: Path) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    for pattern in ("truth.jsonl", "gateway.db*", "*-outbox.db*", "*.log", "agent.yaml", "process.jsonl"):
        for path in workdir.glob(pattern):
            path.unlink()


class Stopped(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so the same clean-up as Ctrl-C runs."""


def _on_signal(signum: int, frame: Any) -> None:
    # A second signal while stopping must not interrupt the clean-up that stops the children.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise Stopped()


def run(args: argparse.Namespace) -> int:
    from junkan.broker import free_port

    console = wide_console()
    port = args.port or free_port()
    api = f"http://127.0.0.1:{port}"
    console.print(f"Dashboard: {api}/   (starting: broker, gateway, agent, devices)")
    previous = signal.signal(signal.SIGTERM, _on_signal)
    workdir = Path(args.workdir)
    try:
        if args.scale_only:
            return _scale_only(args, console, workdir, port)
        return _whole_line(args, console, workdir, port)
    except Stopped:
        console.print("stopped by SIGTERM; every child process stopped")
        return 143
    except KeyboardInterrupt:
        console.print("stopped; every child process stopped")
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)


def _whole_line(args: argparse.Namespace, console: Console, workdir: Path, port: int) -> int:
    from junkan.scenario_runner import run_scenario
    from simulators.plantline.schema import load_scenario

    try:
        scenario = load_scenario(args.scenario)
    except ValueError as exc:
        console.print(f"error: {exc}", markup=False)
        return 2
    printer: LotPrinter | None = None

    def ready(plant: Plant) -> None:
        nonlocal printer
        console.print(f"API: {plant.api}/docs   broker: mqtt://127.0.0.1:{plant.broker.port}   "
                      f"folder: {plant.workdir}   scenario: {scenario.name} (seed {args.seed})")
        console.print(f"Running {'until Ctrl-C' if args.duration <= 0 else f'{args.duration:g} s'}; "
                      "one line per closed lot as the gateway measured it:")
        printer = LotPrinter(plant.api, console)
        printer.start()

    def log(msg: str) -> None:
        if not msg.startswith(("lot ", "API ")):  # the printer shows lots as measured, not the truth
            console.print(f"[dim]{msg}[/dim]", highlight=False)

    try:
        truth = run_scenario(scenario, args.seed, args.duration, workdir, log=log, api_port=port, on_ready=ready,
                             on_finish=lambda plant: printer.flush() if printer else None)
    finally:
        if printer is not None:
            printer.stop()
    console.print(next_steps(workdir.resolve(), [t["lot_id"] for t in truth], printer.shown if printer else []))
    return 0


def _scale_only(args: argparse.Namespace, console: Console, workdir: Path, port: int) -> int:
    from simulators.commands.scale import rest_operator
    from simulators.pty_port import PtyPort
    from simulators.scales.devices import make_device
    from simulators.scales.platform import ContainerScenario, PlatformScale

    fresh_workdir(workdir)
    plant = Plant(workdir, line_config=demo_line_config(args.protocol), api_port=port, die_with_parent=True)
    pty = PtyPort()
    scenario = ContainerScenario(line="line-1", seed=args.seed, speed=args.speed)
    from gateway.evidence.keys import write_plant_public_key

    pub = write_plant_public_key(plant.workdir)  # before the gateway starts: JWS downloads while it runs
    try:
        plant.start_broker()
        plant.start_gateway()
        scale = PlatformScale(seed=args.seed)
        threading.Thread(target=make_device(args.protocol, scale, pty, seed=args.seed).serve,
                         args=(plant.stop_event,), daemon=True).start()
        # A compressed scenario settles faster: poll faster so N stable frames still fit in a settle period.
        polled = "poll_interval_s" in plant.line_config.read_text(encoding="utf-8")
        poll = {"devices.0.poll_interval_s": round(max(0.02, 0.1 / args.speed), 3)} if polled and args.speed > 1 else {}
        plant.start_agent(plant.agent_config({"scale-pp": pty.path}, overrides=poll))
        plant.wait_agent_online("agent-line-1")
        console.print(f"API: {plant.api}/docs   broker: mqtt://127.0.0.1:{plant.broker.port}   "
                      f"folder: {plant.workdir}")
        sim = threading.Thread(
            target=scenario.run,
            args=(scale, plant.stop_event, rest_operator(plant.api, "line-1"), plant.workdir / "truth.jsonl"),
            daemon=True)
        sim.start()
        deadline = time.monotonic() + args.duration if args.duration > 0 else None
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
    finally:
        plant.stop()
        pty.close()
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
