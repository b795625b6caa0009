"""Gateway storage: one interface (``Store``) selected by URL: ``sqlite:///path`` or ``postgresql://…``."""

from __future__ import annotations

from gateway.store.base import Store


def open_store(url: str) -> Store:
    """Open the store a URL names and apply pending migrations."""
    if url.startswith("sqlite:///"):
        from gateway.store.sqlite import SqliteStore

        return SqliteStore(url.removeprefix("sqlite:///"))
    if url.startswith(("postgresql://", "postgres://")):
        from gateway.store.postgres import PostgresStore

        return PostgresStore(url)
    raise ValueError(f"unsupported store URL {url!r}: use sqlite:///PATH or postgresql://...")
