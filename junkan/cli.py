"""The `junkan` command: one entry point, sub-commands owned by the package that implements them.

Each package exposes ``register(subparsers)``; a sub-command sets ``func`` taking the parsed args and
returning an exit code. Keep argument parsing here thin: the work lives in the packages.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    from edge_agent import cli as agent_cli
    from gateway import cli as gateway_cli
    from junkan import demo, scenario, verify
    from simulators import cli as sim_cli

    parser = argparse.ArgumentParser(prog="junkan", description="Edge data capture for recycling plants.",
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # --version keeps lines
    parser.add_argument("-v", "--verbose", action="store_true", help="Log at DEBUG level.")
    parser.add_argument("--version", action="version", version=version_text(),
                        help="Print the release, wire schemas, store and outbox schemas, and exit.")
    top = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    agent_cli.register(top.add_parser("agent", help="Run or inspect an edge agent.").add_subparsers(
        dest="agent_command", required=True, metavar="AGENT_COMMAND"))
    gateway_cli.register(top.add_parser("gateway", help="Run or query the gateway.").add_subparsers(
        dest="gateway_command", required=True, metavar="GATEWAY_COMMAND"))
    sim = top.add_parser("sim", help="Device and plant simulators.").add_subparsers(
        dest="sim_command", required=True, metavar="SIM_COMMAND")
    sim_cli.register(sim)
    scenario.register(sim)
    demo.register(top)
    verify.register(top)
    return parser


def version_text() -> str:
    """What `junkan --version` prints: one place each (docs/operations.md)."""
    from edge_agent.publishing.outbox import SCHEMA_VERSION
    from gateway.store.schema import MIGRATIONS
    from junkan.core.version import release, wire_schemas

    return (f"junkan {release()}\nwire schemas: {' '.join(wire_schemas())}\n"
            f"gateway store schema: {MIGRATIONS[-1][0]} ({len(MIGRATIONS)} migrations)\n"
            f"agent outbox schema: {SCHEMA_VERSION}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
