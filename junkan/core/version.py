"""What is running, from one place each: the release (pyproject's ``version``, read from the installed
package metadata) and the wire schemas (the ``schema`` literals of the message models).

Reported by `junkan --version`, the gateway's /healthz and /readyz and every agent status message, so an
operator sees which release and which schemas each part of a plant runs. (The gateway store schema and
the agent outbox schema belong to their packages: gateway/store/version.py, edge_agent/publishing/outbox.py.)
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import get_args

from pydantic import BaseModel

from junkan.core import messages


@cache
def release() -> str:
    try:
        return version("junkan")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


@cache
def wire_schemas() -> tuple[str, ...]:
    """Every wire schema this code speaks, e.g. ``junkan.lot/1``, sorted."""
    found: set[str] = set()
    for obj in vars(messages).values():
        if isinstance(obj, type) and issubclass(obj, BaseModel) and "schema_" in obj.model_fields:
            found.update(a for a in get_args(obj.model_fields["schema_"].annotation) if isinstance(a, str))
    return tuple(sorted(found))
