"""Identifiers: ULIDs sort by creation time, which keeps outbox and store indexes append-only."""

from __future__ import annotations

from ulid import ULID


def new_id() -> str:
    return str(ULID())
