"""`junkan gateway serve --config FILE`: MQTT consumer + REST API in one process."""

from __future__ import annotations

import argparse

from junkan.core.config import add_config_arguments, load_or_report


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("serve", help="Consume agent messages and serve the REST API / dashboard.")
    add_config_arguments(p, "Gateway settings YAML (see firmware_configs/gateway.example.yaml).", required=False)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from gateway.app import serve
    from gateway.settings import SettingsError, load_settings
    settings = load_or_report(load_settings, args.config, args.set, (SettingsError,))
    if settings is None:
        return 2
    return serve(settings)
