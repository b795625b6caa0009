"""`junkan agent run --config FILE`: run an edge agent until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from junkan.core.config import add_config_arguments, load_or_report


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("run", help="Run the edge agent for one line.")
    add_config_arguments(p, "Line config, e.g. firmware_configs/lines/demo_line.yaml")
    p.add_argument("--capture", action="append", default=[], metavar="DEVICE=FILE",
                   help="Record a device's raw bytes with timestamps for `junkan sim replay`.")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from edge_agent.app import run_agent
    from edge_agent.config import ConfigError, load_config
    from edge_agent.publishing.outbox import OutboxTooNew
    from junkan.core.locks import Busy

    config = load_or_report(load_config, args.config, args.set, (ConfigError,))
    if config is None:
        return 2
    capture = {}
    for pair in args.capture:
        name, _, path = pair.partition("=")
        capture[name] = Path(path)
    try:
        return run_agent(config, capture=capture)
    except (Busy, OutboxTooNew) as exc:  # a second agent on the same outbox would reuse its seqs
        print(f"agent: {exc}", file=sys.stderr)
        return 2
    except ConfigError as exc:  # e.g. a driver whose pip extra is not installed: one line, no traceback
        print(exc, file=sys.stderr)
        return 2
