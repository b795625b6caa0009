"""`junkan agent install-service --config FILE`: write the agent's systemd unit (Type=notify, watchdog)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from junkan.core.systemd import add_arguments

    p = sub.add_parser("install-service", help="Write a systemd unit for this agent (prints what it wrote).")
    add_arguments(p, "junkan-agent")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from edge_agent.config import ConfigError, load_config
    from junkan.core.systemd import ServiceSpec, exec_line, next_steps, under_state_dir, write_unit

    config_path = Path(args.config).resolve()
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    if not under_state_dir(config.outbox.path):
        print(f"{config_path}: outbox.path {config.outbox.path} is outside /var/lib/junkan; the service's file "
              "system is read-only there (ProtectSystem=strict). Use a relative path or one under /var/lib/junkan.",
              file=sys.stderr)
        return 2
    serial = any(str(getattr(getattr(d, "port", None), "url", "")).startswith("/dev/") for d in config.devices)
    spec = ServiceSpec(args.name, "agent", f"junkan edge agent {config.site}/{config.line}/{config.agent}",
                       exec_line(args.python, "agent", "run", "--config", str(config_path)), args.user,
                       args.watchdog_sec, groups=("dialout",) if serial else ())
    print(next_steps(spec, write_unit(spec, Path(args.dest))))
    return 0
