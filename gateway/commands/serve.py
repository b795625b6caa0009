"""`junkan gateway serve --config FILE`: MQTT consumer + REST API in one process."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("serve", help="Consume agent messages and serve the REST API / dashboard.")
    p.add_argument("--config", help="Gateway settings YAML (see firmware_configs/gateway.example.yaml).")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="Override a setting, e.g. --set api.port=8081 (repeatable).")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from gateway.app import serve
    from gateway.settings import SettingsError, load_settings
    from junkan.core.config import parse_overrides

    try:
        settings = load_settings(args.config, parse_overrides(args.set))
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    return serve(settings)
