"""`junkan gateway install-service --config FILE`: write the gateway's systemd unit (Type=notify, watchdog)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from junkan.core.systemd import add_arguments

    p = sub.add_parser("install-service", help="Write a systemd unit for this gateway (prints what it wrote).")
    add_arguments(p, "junkan-gateway")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from gateway.settings import SettingsError, load_settings
    from junkan.core.systemd import ServiceSpec, exec_line, next_steps, under_state_dir, write_unit

    config_path = Path(args.config).resolve()
    try:
        settings = load_settings(str(config_path), {})
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    if settings.db_url.startswith("sqlite:///") and not under_state_dir(settings.db_url.removeprefix("sqlite:///")):
        print(f"{config_path}: db_url {settings.db_url} is outside /var/lib/junkan; the service's file system is "
              "read-only there (ProtectSystem=strict). Use a relative path or one under /var/lib/junkan.",
              file=sys.stderr)
        return 2
    spec = ServiceSpec(args.name, "gateway", f"junkan gateway {settings.worker_id}",
                       exec_line(args.python, "gateway", "serve", "--config", str(config_path)), args.user,
                       args.watchdog_sec)
    print(next_steps(spec, write_unit(spec, Path(args.dest))))
    return 0
