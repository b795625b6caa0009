"""`junkan sim ...` sub-commands. Each command module exposes ``register(subparsers)``."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from simulators.commands import camera, replay, scale, scenario, score

    for module in (scale, camera, scenario, score, replay):
        module.register(sub)
