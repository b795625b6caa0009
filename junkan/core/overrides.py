"""`--set key.sub.0.name=value` overrides applied to a loaded YAML tree before validation."""

from __future__ import annotations

from typing import Any


def apply_overrides(tree: dict[str, Any], overrides: dict[str, Any] | None) -> dict[str, Any]:
    """Set each dotted key; numeric parts index lists (``devices.0.port.url``). Raises ValueError naming
    the key when a list index is out of range or a part is not a container."""
    for dotted, value in (overrides or {}).items():
        node: Any = tree
        *parents, leaf = dotted.split(".")
        try:
            for key in parents:
                node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
            if isinstance(node, list):
                node[int(leaf)] = value
            else:
                node[leaf] = value
        except (IndexError, ValueError, AttributeError, TypeError) as exc:
            raise ValueError(f"--set {dotted}: {exc}") from None
    return tree
