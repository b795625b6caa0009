"""`junkan gateway ...` sub-commands. Each command module exposes ``register(subparsers)``."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from gateway.commands import (
        backup,
        dead_letters,
        evidence,
        export,
        import_composition,
        keys,
        lab_confirm,
        lineage,
        mqtt_config,
        report,
        serve,
        users,
    )

    for module in (serve, export, users, mqtt_config, import_composition, evidence, keys, lineage, report, backup,
                   dead_letters, lab_confirm):
        module.register(sub)

    from gateway.commands import install_service

    install_service.register(sub)
