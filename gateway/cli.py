"""`junkan gateway ...` sub-commands. Each command module exposes ``register(subparsers)``."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from gateway.commands import export, mqtt_config, serve, users

    for module in (serve, export, users, mqtt_config):
        module.register(sub)
