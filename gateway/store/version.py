"""What schema a store is at, for /readyz and `junkan --version`: an operator sees what is running.

The store schema is the ordered migration list of ``schema.py`` (SQLite records applied names in
sqlite-utils' ``_sqlite_migrations``, PostgreSQL in ``junkan_migrations``); its version is the name of
the last migration. ``pending`` lists known migrations the database has not applied (normally none:
``open_store`` applies them), ``unknown`` the applied ones this code does not know (a newer release wrote
the database: running an older gateway on it is a downgrade).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict  # pydantic needs typing_extensions' TypedDict on 3.11

from gateway.store.base import Store
from gateway.store.schema import MIGRATION_SET, MIGRATIONS
from junkan.core.version import release, wire_schemas


@with_config(ConfigDict(extra="forbid"))
class StoreSchema(TypedDict):
    """The schema a store is at (``store_schema``)."""

    version: Annotated[str, Field(description="The last migration this code writes.")]
    migrations: Annotated[int, Field(description="Migrations this code knows.")]
    pending: Annotated[list[str], Field(description="Known migrations the database has not applied.")]
    unknown: Annotated[list[str], Field(description="Applied migrations this code does not know (a downgrade?).")]


@with_config(ConfigDict(extra="forbid"))
class Versions(TypedDict):
    """What is running (``versions``), as /healthz and /readyz report it."""

    release: str
    wire: Annotated[list[str], Field(description="Wire schemas this code speaks, e.g. junkan.lot/1.")]
    store_schema: StoreSchema


def code_schema() -> str:
    """The store schema this code writes: the name of its last migration."""
    return MIGRATIONS[-1][0]


def applied_migrations(store: Store) -> list[str]:
    """Migration names the database has applied, from the store's own bookkeeping table."""
    return sorted(store.db.applied(MIGRATION_SET))


def store_schema(store: Store) -> StoreSchema:
    known = [name for name, _ in MIGRATIONS]
    applied = applied_migrations(store)
    return {"version": code_schema(), "migrations": len(known),
            "pending": [n for n in known if n not in applied], "unknown": [n for n in applied if n not in known]}


def versions(store: Store) -> Versions:
    """Release, wire schemas and this store's schema, as the gateway reports them (/healthz, /readyz)."""
    return {"release": release(), "wire": list(wire_schemas()), "store_schema": store_schema(store)}
