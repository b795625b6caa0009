"""`junkan agent ...` sub-commands. Each command module exposes ``register(subparsers)``."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from edge_agent.commands import capture, decode, identify, install_service, nir_classify, run

    for module in (run, decode, identify, capture, nir_classify, install_service):
        module.register(sub)
