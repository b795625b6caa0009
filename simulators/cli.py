"""`junkan sim ...` sub-commands. Each command module exposes ``register(subparsers)``.

`sim scenario` (a whole line: broker, gateway, agent and these simulators) is registered by the top
layer (``junkan.scenario``), since it starts every package's processes."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from simulators.commands import camera, nir_sorter, replay, scale, score, xrf

    for module in (scale, camera, score, replay, xrf, nir_sorter):
        module.register(sub)
