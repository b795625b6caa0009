"""`junkan gateway lineage LOT_ID | --model M --db PATH`: where a lot came from, or where a model went."""

from __future__ import annotations

import argparse
import json
import sys


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("lineage", help="Source lots, products and models of a lot; or the output lots of a model.")
    p.add_argument("lot_id", nargs="?", help="Output lot id (backward lineage).")
    p.add_argument("--model", help="Product model number (forward lineage) instead of a lot.")
    p.add_argument("--db", required=True, help="Store: a SQLite file path or a postgresql:// URL.")
    p.add_argument("--all", action="store_true", help="--model: include intermediate lots, not only final ones.")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from gateway.commands.export import store_url
    from gateway.composition.ident_repo import match_pending
    from gateway.store import open_store
    from gateway.traceability.db import Db
    from gateway.traceability.lineage import LineageError, backward, forward_model

    if bool(args.lot_id) == bool(args.model):
        print("lineage: give either LOT_ID or --model MODEL", file=sys.stderr)
        return 2
    store = open_store(store_url(args.db))
    try:
        db = Db.of(store)
        match_pending(db, store)
        result = (backward(db, args.lot_id, store) if args.lot_id
                  else forward_model(db, args.model, store, terminal_only=not args.all))
    except LineageError as exc:
        print(f"lineage: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    print(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    return 0
