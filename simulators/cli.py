"""`junkan sim ...` sub-commands. Each command module exposes ``register(subparsers)``."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from simulators.commands import camera, replay, scale

    for module in (scale, camera, replay):
        module.register(sub)
