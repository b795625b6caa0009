"""`junkan sim ...` sub-commands. Each command module exposes ``register(subparsers)``."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from simulators.commands import camera, nir_sorter, replay, scale, scenario, score, xrf

    for module in (scale, camera, scenario, score, replay, xrf, nir_sorter):
        module.register(sub)
