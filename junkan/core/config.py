"""Config primitives shared by the agent and the gateway: strict models, error text naming the key,
``--set KEY=VALUE`` overrides."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError


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
