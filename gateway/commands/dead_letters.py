"""`junkan gateway dead-letters list|replay`: what was refused and why, and storing it after a fix."""

from __future__ import annotations

import argparse
import json
import sys

from gateway.ingest.validate import REASONS


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("dead-letters", help="List refused payloads, or replay them after a fix.")
    actions = p.add_subparsers(dest="dead_command", required=True, metavar="ACTION")
    ls = actions.add_parser("list", help="Newest first, one JSON object per line.")
    ls.add_argument("--reason", choices=REASONS, help="Only this reason code.")
    ls.add_argument("--agent", help="Only payloads from this agent's topics.")
    ls.add_argument("--limit", type=int, default=100, help="At most this many (default 100).")
    ls.add_argument("--before-id", type=int, help="Page: ids below this one (the last id of the previous page).")
    ls.add_argument("--payload", action="store_true", help="Include the payload text (first 2000 characters).")
    rp = actions.add_parser("replay", help="Validate and store dead letters again (after a fix).")
    which = rp.add_mutually_exclusive_group(required=True)
    which.add_argument("--id", type=int, action="append", help="A dead letter id (repeatable).")
    which.add_argument("--reason", choices=REASONS, help="Every not yet replayed dead letter with this reason.")
    rp.add_argument("--limit", type=int, default=10_000, help="With --reason: at most this many.")
    for action in (ls, rp):
        action.add_argument("--db", help="Store: a SQLite file path or a postgresql:// URL (default: the config's).")
        action.add_argument("--config", help="Gateway settings YAML (the db_url and, for replay, the ingest window).")
        action.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="Override a setting.")
        action.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from gateway.commands.export import existing_store_url
    from gateway.ingest.replay import replay_one, select
    from gateway.ingest.validate import IngestPolicy
    from gateway.settings import SettingsError, load_settings
    from gateway.store import open_store
    from junkan.core.config import parse_overrides

    try:
        settings = load_settings(args.config, parse_overrides(args.set))
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    url = existing_store_url(args.db) if args.db else settings.db_url
    store = open_store(url)
    try:
        if args.dead_command == "list":
            for row in store.dead_letters(args.limit, before_id=args.before_id, reason=args.reason, agent=args.agent,
                                          include_payload=args.payload):
                print(json.dumps(row, default=str))
            return 0
        policy = IngestPolicy(max_bytes=settings.max_payload_bytes, max_past_s=settings.ingest.max_past_s,
                              max_future_s=settings.ingest.max_future_s)
        ids = select(store, args.id, args.reason, args.limit)
        results = [replay_one(store, letter_id, policy) for letter_id in ids]
    finally:
        store.close()
    for result in results:
        print(json.dumps(result))
    stored = sum(r["result"] in ("stored", "duplicate") for r in results)
    print(f"replayed {len(results)}: {stored} stored or already stored, {len(results) - stored} not", file=sys.stderr)
    return 0 if stored == len(results) else 1
