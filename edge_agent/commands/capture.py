"""`junkan agent capture --config FILE --device NAME --out FILE`: run the agent and record one device's
raw bytes with timestamps (JSON lines ``{"t", "dir", "hex"}``; Modbus devices write register dumps).

The agent runs normally (readings still flow to the broker); ``--duration`` stops it by itself. Play a
byte capture back with `junkan sim replay`, or decode it offline with `junkan agent decode`.
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

from junkan.core.config import add_config_arguments, load_or_report


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("capture", help="Run the agent, recording one device's raw bytes for replay.")
    add_config_arguments(p, "Line config, e.g. firmware_configs/lines/demo_line.yaml")
    p.add_argument("--device", required=True, help="Name of the device to record.")
    p.add_argument("--out", required=True, help="Capture file to write (JSON lines; appended to).")
    p.add_argument("--duration", type=float, help="Stop after this many seconds (default: until Ctrl-C).")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from edge_agent.app import run_agent
    from edge_agent.config import ConfigError, load_config

    config = load_or_report(load_config, args.config, args.set, (ConfigError,))
    if config is None:
        return 2
    names = [d.name for d in config.devices]
    if args.device not in names:
        print(f"no device {args.device!r} in {args.config}; devices: {', '.join(names)}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    if args.duration:
        timer = threading.Timer(args.duration, stop.set)
        timer.daemon = True
        timer.start()
    print(f"capturing {args.device} to {out}", file=sys.stderr)
    try:
        return run_agent(config, stop=stop, capture={args.device: out})
    except ConfigError as exc:  # a driver whose pip extra is not installed: one line, no traceback
        print(exc, file=sys.stderr)
        return 2
