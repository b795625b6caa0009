"""`junkan sim scale --protocol mt-sics|and-ad|sartorius-sbi|ohaus|toledo`: a platform scale on a PTY
playing a container scenario."""

from __future__ import annotations

import argparse
import json
import threading
import urllib.request
from pathlib import Path

PROTOCOLS = {"mt-sics": "simulators.scales.mt_sics", "and-ad": "simulators.scales.and_ad",
             "sartorius-sbi": "simulators.scales.sartorius_sbi", "ohaus": "simulators.scales.ohaus",
             "toledo": "simulators.scales.toledo_continuous"}


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("scale", help="Simulate a scale/indicator on a pseudo-terminal.")
    p.add_argument("--protocol", default="mt-sics", choices=sorted(PROTOCOLS), help="Protocol to speak.")
    p.add_argument("--truth", default="truth.jsonl", help="Where to write the ground truth per lot (JSON lines).")
    p.add_argument("--seed", type=int, default=1, help="Random seed (same seed, same scenario).")
    p.add_argument("--speed", type=float, default=1.0, help="Time compression factor.")
    p.add_argument("--lots", type=int, default=1_000_000, help="Stop after this many lots.")
    p.add_argument("--line", default="line-1", help="Line id used in lot ids.")
    p.add_argument("--division", type=float, default=0.02, help="Scale division d (kg).")
    p.add_argument("--noise-rate", type=float, default=0.0, help="Share of replies corrupted (0..1).")
    p.add_argument("--gateway", help="Gateway URL: the simulated operator opens/closes lots through its API.")
    p.set_defaults(func=_run)


def rest_operator(gateway: str, line: str):  # type: ignore[no-untyped-def]
    """The simulated operator pressing open/close on the dashboard (the gateway's REST API)."""
    def act(action: str, lot_id: str) -> None:
        body = json.dumps({"action": action, "lot_id": lot_id}).encode()
        req = urllib.request.Request(f"{gateway}/api/v1/lines/{line}/lots", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            resp.read()
    return act


def _run(args: argparse.Namespace) -> int:
    from simulators.pty_port import PtyPort
    from simulators.scales.devices import make_device
    from simulators.scales.platform import ContainerScenario, PlatformScale

    stop = threading.Event()
    port = PtyPort()
    scale = PlatformScale(division_kg=args.division, seed=args.seed)
    device = make_device(args.protocol, scale, port, noise_rate=args.noise_rate, seed=args.seed)
    print(port.path, flush=True)
    threading.Thread(target=device.serve, args=(stop,), daemon=True).start()
    scenario = ContainerScenario(line=args.line, lots=args.lots, speed=args.speed, seed=args.seed)
    operator = rest_operator(args.gateway, args.line) if args.gateway else None
    try:
        scenario.run(scale, stop, operator, Path(args.truth))
    except KeyboardInterrupt:
        pass
    stop.set()
    port.close()
    return 0
