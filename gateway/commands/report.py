"""`junkan gateway report recycled-content|recycled-use (--fiscal-year Y | --from DATE --to DATE) --db PATH`.

recycled-content: the recycler's supply side (product output lots per source manufacturer / category);
recycled-use: the manufacturer's use side (recycled lots received and used per product category).
Exit 0 only for a report that is ok; 1 when it is not (balance, roles, over-receipt), 3 when it is empty
(the reason is printed), 2 for a bad period.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any


def _when(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("report", help="Reports: recycled content supplied / used per manufacturer and category.")
    p.add_argument("kind", choices=["recycled-content", "recycled-use"], help="Which report.")
    p.add_argument("--db", required=True, help="Store: a SQLite file path or a postgresql:// URL.")
    p.add_argument("--fiscal-year", type=int, help="Japanese fiscal year (年度): 1 April Y .. 1 April Y+1, JST.")
    p.add_argument("--from", dest="start", type=_when, help="Period start (ISO date/time; UTC if no zone).")
    p.add_argument("--to", dest="end", type=_when, help="Period end, exclusive (any length).")
    p.add_argument("--format", default="csv", choices=["csv", "json", "lots-csv"],
                   help="csv: one row per manufacturer/category; json: the whole report; lots-csv "
                   "(recycled-content): the supplied lots, streamed one per line.")
    p.add_argument("--kinds", default="", help="recycled-content: only final outputs of these step kinds "
                   "(comma-separated); default every kind.")
    p.add_argument("--manufacturer", help="recycled-use: only this manufacturer.")
    p.add_argument("--tolerance", type=float, default=0.02, help="Mass-balance tolerance (fraction of input).")
    p.set_defaults(func=_run)


def _period(args: argparse.Namespace) -> tuple[datetime, datetime] | str:
    from gateway.traceability.report import PeriodError, fiscal_year

    if args.fiscal_year is not None:
        if args.start or args.end:
            return "give --fiscal-year or --from/--to, not both"
        try:
            return fiscal_year(args.fiscal_year)
        except PeriodError as exc:
            return str(exc)
    if not (args.start and args.end):
        return "give --fiscal-year YEAR or both --from and --to"
    return args.start, args.end


def _run(args: argparse.Namespace) -> int:
    from gateway.commands.export import existing_store_url
    from gateway.store import open_store
    from gateway.traceability import report as rc
    from gateway.traceability.use import COLUMNS as USE_COLUMNS
    from gateway.traceability.use import UseRepo

    period = _period(args)
    if isinstance(period, str):
        print(f"report: {period}", file=sys.stderr)
        return 2
    start, end = period
    kinds = tuple(k.strip() for k in args.kinds.split(",") if k.strip()) or None
    store = open_store(existing_store_url(args.db))
    try:
        if args.kind == "recycled-content" and args.format == "lots-csv":
            for line in rc.lots_csv(store.db, store, start, end, kinds):
                sys.stdout.write(line)
            return 0
        report = (rc.recycled_content(store.db, store, start, end, kinds, args.tolerance) if args.kind ==
                  "recycled-content" else UseRepo(store.db, store).report(start, end, args.manufacturer))
    except rc.PeriodError as exc:
        print(f"report: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
    result: dict[str, Any] = {**report}
    if args.fiscal_year is not None:
        result["fiscal_year"] = args.fiscal_year
    if args.format == "json":
        sys.stdout.write(json.dumps(result, indent=2, default=str, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(rc.rows_csv(report, rc.COLUMNS if args.kind == "recycled-content" else USE_COLUMNS))
    for warning in result.get("warnings", []):
        print(f"report: warning: {warning}", file=sys.stderr)
    if result["empty_reason"]:
        print(f"report: empty: {result['empty_reason']}", file=sys.stderr)
        return 3
    if not result["ok"]:
        print("report: not ok: balance violation, negative balance, outputs without a role or a lot received "
              "beyond its mass (see period_balance / balance_ok / warnings / over_received in --format json)",
              file=sys.stderr)
        return 1
    return 0
