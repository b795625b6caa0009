"""`junkan gateway export --db PATH lots|readings|dead-letters`: stored data as JSON lines."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from junkan.core.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("export", help="Print stored lots (or readings, dead letters) as JSON lines.")
    p.add_argument("--db", required=True, help="Store: a SQLite file path or a postgresql:// URL.")
    p.add_argument("what", choices=["lots", "readings", "dead-letters"], help="What to export.")
    p.add_argument("--lot", help="With 'readings': only this lot's readings.")
    p.set_defaults(func=_run)


def store_url(db: str) -> str:
    return db if "://" in db else f"sqlite:///{db}"


def existing_store_url(db: str) -> str:
    """``store_url`` for commands that only read: a SQLite file that is not there is an error, never created
    (opening it would make the folder and an empty store, and the command would answer 'nothing' with 0)."""
    url = store_url(db)
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.is_file():
            raise UserError(f"{path}: no such gateway store (give --db the gateway's database file)")
    return url


def _run(args: argparse.Namespace) -> int:
    from gateway.store import open_store

    if args.what == "readings" and not args.lot:
        raise UserError("export readings needs --lot LOT_ID")
    store = open_store(existing_store_url(args.db))
    try:
        rows: Sequence[Mapping[str, object]]
        if args.what == "lots":
            rows = sorted(store.list_lots(limit=1_000_000), key=lambda r: (r["opened_at"], r["lot_id"]))
        elif args.what == "readings":
            if store.get_lot(args.lot) is None:
                raise UserError(f"lot {args.lot!r} not found", code=1)
            rows = store.lot_readings(args.lot)
        else:
            rows = store.dead_letters(limit=1_000_000)
        for row in rows:
            sys.stdout.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    finally:
        store.close()
    return 0
