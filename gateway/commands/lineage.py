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
    r = sub.add_parser("process", help="Record intake lots and process steps from a JSON file; prints balances.")
    r.add_argument("file", help='JSON: {"intake": [IntakeIn...], "steps": [StepIn...], '
                   '"uses": [RecycledUseIn...]} (see docs/evidence.md).')
    r.add_argument("--db", required=True, help="Store: a SQLite file path or a postgresql:// URL.")
    r.add_argument("--tolerance", type=float, default=0.02, help="Default mass-balance tolerance (fraction).")
    r.set_defaults(func=_record)


def _record(args: argparse.Namespace) -> int:
    from pathlib import Path

    from pydantic import ValidationError

    from gateway.commands.export import store_url
    from gateway.store import open_store
    from gateway.traceability.repo import record_intake, record_step
    from gateway.traceability.use import UseRepo
    from junkan.core.traceability import IntakeIn, RecycledUseIn, StepIn

    try:
        doc = json.loads(Path(args.file).read_text(encoding="utf-8"))
        intakes = [IntakeIn.model_validate(x) for x in doc.get("intake", [])]
        steps = [StepIn.model_validate(x) for x in doc.get("steps", [])]
        uses = [RecycledUseIn.model_validate(x) for x in doc.get("uses", [])]
    except (OSError, ValueError, ValidationError, AttributeError) as exc:
        print(f"process: {args.file}: {exc}", file=sys.stderr)
        return 2
    store = open_store(store_url(args.db))
    violations = 0
    try:
        db = store.db
        for intake in intakes:
            print(json.dumps(record_intake(db, intake, store)))
        for step in steps:
            try:
                result = record_step(db, step, args.tolerance)
            except ValueError as exc:
                print(f"process: step {step.step_id}: {exc}", file=sys.stderr)
                return 1
            violations += not result["balance"]["ok"]
            print(json.dumps(result))
        for use in uses:
            print(json.dumps(UseRepo(db, store).record(use)))
    finally:
        store.close()
    if violations:
        print(f"process: {violations} step(s) violate the mass balance: alarm raised, claims blocked",
              file=sys.stderr)
    return 1 if violations else 0


def _run(args: argparse.Namespace) -> int:
    from gateway.commands.export import existing_store_url
    from gateway.composition.ident_repo import match_pending
    from gateway.store import open_store
    from gateway.traceability.lineage import LineageError, backward, forward_model

    if bool(args.lot_id) == bool(args.model):
        print("lineage: give either LOT_ID or --model MODEL", file=sys.stderr)
        return 2
    store = open_store(existing_store_url(args.db))
    try:
        db = store.db
        match_pending(db, store)
        result = (backward(db, args.lot_id, store).model_dump(mode="json") if args.lot_id
                  else forward_model(db, args.model, store, terminal_only=not args.all))
    except LineageError as exc:
        print(f"lineage: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    print(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    return 0
