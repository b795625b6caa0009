"""Config primitives shared by the agent and the gateway: strict models, error text naming the key,
``--set KEY=VALUE`` overrides."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

T = TypeVar("T")


class StrictConfig(BaseModel):
    """Base of every config section: unknown keys are an error, so a typo fails at start-up."""

    model_config = ConfigDict(extra="forbid")


class ConfigError(Exception):
    """A config file is invalid; the message names the file and the key."""


def format_validation_error(path: Path, exc: ValidationError) -> str:
    lines = [f"{path}: invalid configuration"]
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        lines.append(f"  {where}: {err['msg']}")
    return "\n".join(lines)


def parse_overrides(pairs: list[str]) -> dict[str, object]:
    """``--set a.b=VALUE`` pairs as a dict; values are YAML scalars (``--set port=1884`` is an int)."""
    import yaml

    out: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--set expects KEY=VALUE, got {pair!r}")
        out[key] = yaml.safe_load(value)
    return out


def add_config_arguments(parser: object, config_help: str, required: bool = True) -> None:
    """``--config FILE`` and repeatable ``--set KEY=VALUE``: the same two options on every command that
    loads a config."""
    import argparse

    assert isinstance(parser, argparse.ArgumentParser)
    parser.add_argument("--config", required=required, help=config_help)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="Override a config value, e.g. --set mqtt.port=18830 (repeatable).")


def load_or_report(load: Callable[[Any, dict[str, object]], T], path: Any, pairs: list[str],
                      errors: tuple[type[Exception], ...]) -> T | None:
    """Load a config with ``--set`` overrides; on a config error print its one message to stderr and
    return None (the command then exits 2: a user mistake, never a traceback)."""
    import sys

    try:
        return load(path, parse_overrides(pairs))
    except errors as exc:
        print(exc, file=sys.stderr)
        return None


def read_secret(file: str | None, env: str | None) -> str | None:
    """A secret from a file (stripped) or an environment variable; configs name where, never the secret."""
    import os

    if file:
        return Path(file).read_text(encoding="utf-8").strip()
    if env:
        return os.environ.get(env)
    return None
