"""`junkan gateway report recycled-content --from DATE --to DATE --db PATH [--format csv|json]`."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime


def _when(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("report", help="Reports: recycled content per manufacturer / category / period.")
    p.add_argument("kind", choices=["recycled-content"], help="Which report.")
    p.add_argument("--db", required=True, help="Store: a SQLite file path or a postgresql:// URL.")
    p.add_argument("--from", dest="start", required=True, type=_when, help="Period start (ISO date/time, UTC).")
    p.add_argument("--to", dest="end", required=True, type=_when, help="Period end, exclusive (<= 3 months).")
    p.add_argument("--format", default="csv", choices=["csv", "json"], help="Output format.")
    p.add_argument("--kinds", default="regeneration",
                   help="Comma-separated step kinds whose final outputs count as supplied recycled plastic.")
    p.add_argument("--tolerance", type=float, default=0.02, help="Mass-balance tolerance (fraction of input).")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from gateway.commands.export import existing_store_url
    from gateway.store import open_store
    from gateway.traceability.report import PeriodError, recycled_content, to_csv

    store = open_store(existing_store_url(args.db))
    try:
        report = recycled_content(store.db, store, args.start, args.end,
                                  tuple(k.strip() for k in args.kinds.split(",") if k.strip()), args.tolerance)
    except PeriodError as exc:
        print(f"report: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
    sys.stdout.write(to_csv(report) if args.format == "csv" else json.dumps(report, indent=2, default=str) + "\n")
    if not report["ok"]:
        print("report: balance violation or negative balance in the period (see period_balance / balance_ok)",
              file=sys.stderr)
        return 1
    return 0
