"""Gateway storage: one interface (``Store``) selected by URL: ``sqlite:///path`` or ``postgresql://…``."""

from __future__ import annotations

from gateway.store.base import Store


def open_store(url: str) -> Store:
    """Open the store a URL names and apply pending migrations. ``sqlite:///PATH?max_bytes=N`` caps the
    SQLite file (``PRAGMA max_page_count``): past it commits fail as on a full disk, ingest holds (nothing
    acked, agents keep buffering, /readyz 503) instead of filling the disk the system runs on."""
    if url.startswith("sqlite:///"):
        from gateway.store.sqlite import SqliteStore

        path, _, query = url.removeprefix("sqlite:///").partition("?")
        options = dict(part.partition("=")[::2] for part in query.split("&") if part)
        unknown = set(options) - {"max_bytes"}
        if unknown:
            raise ValueError(f"store URL {url!r}: unknown option(s) {', '.join(sorted(unknown))} (known: max_bytes)")
        return SqliteStore(path, max_bytes=int(options["max_bytes"]) if "max_bytes" in options else None)
    if url.startswith(("postgresql://", "postgres://")):
        from gateway.store.postgres import PostgresStore

        return PostgresStore(url)
    raise ValueError(f"unsupported store URL {url!r}: use sqlite:///PATH or postgresql://...")
