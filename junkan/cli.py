"""The `junkan` command: one entry point, sub-commands owned by the package that implements them.

Each package exposes ``register(subparsers)``; a sub-command sets ``func`` taking the parsed args and
returning an exit code. Keep argument parsing here thin: the work lives in the packages.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from junkan.core.errors import UserError


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
    _register_schemas(top)
    return parser


def _register_schemas(top: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    schemas = top.add_parser("schemas", help="JSON Schemas of the wire messages, Measurement and Evidence.")
    sub = schemas.add_subparsers(dest="schemas_command", required=True, metavar="SCHEMAS_COMMAND")
    export = sub.add_parser("export", help="Write one JSON Schema file per document (docs/schemas/ is the "
                            "committed copy).")
    export.add_argument("--out", default="docs/schemas", help="Folder to write (default docs/schemas).")
    export.add_argument("--check", action="store_true",
                        help="Write nothing; exit 1 naming every file that is missing, stale or unknown.")
    export.set_defaults(func=_export_schemas)


def _export_schemas(args: argparse.Namespace) -> int:
    from pathlib import Path

    from junkan.core.schemas import DOCUMENTS, render

    out = Path(args.out)
    if args.check:
        stale = [n for n in DOCUMENTS if not (out / n).is_file() or (out / n).read_text(encoding="utf-8") != render(n)]
        extra = sorted(p.name for p in out.glob("*.json") if p.name not in DOCUMENTS) if out.is_dir() else []
        for name in stale + extra:
            print(f"schemas: {out / name} {'is not a known document' if name in extra else 'differs'}",
                  file=sys.stderr)
        return 1 if stale or extra else 0
    out.mkdir(parents=True, exist_ok=True)
    for name in DOCUMENTS:
        (out / name).write_text(render(name), encoding="utf-8")
    print(f"schemas: wrote {len(DOCUMENTS)} files to {out}", file=sys.stderr)
    return 0


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
    except UserError as exc:
        print(f"junkan: {exc}", file=sys.stderr)
        return exc.code
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as exc:
        if exc.filename is None:  # not about a path the user gave: a bug, keep the traceback
            raise
        print(f"junkan: {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
