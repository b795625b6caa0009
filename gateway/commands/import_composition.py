"""`junkan gateway import-composition FILE... --db PATH`: composition records into the gateway store."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("import-composition",
                       help="Import IPC-1752A / IEC 62474 XML, chemSHERPA-AI .shai or junkan CSV composition records.")
    p.add_argument("files", nargs="+", help="Files to import (format detected from content).")
    p.add_argument("--db", required=True, help="Store: a SQLite file path or a postgresql:// URL.")
    p.add_argument("--category", help="Product category for records that do not state one (e.g. TV).")
    p.add_argument("--json", action="store_true", help="Print the per-file reports as JSON lines: what was read "
                   "per product, skipped and why, warnings, elements not read.")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import Progress

    from gateway.commands.export import store_url
    from gateway.composition.importer import import_path
    from gateway.store import open_store

    console = Console(stderr=True)
    store = open_store(store_url(args.db))
    reports = []
    try:
        db = store.db
        with Progress(console=console, transient=False) as progress:
            task = progress.add_task("importing", total=len(args.files))
            for path in args.files:
                progress.update(task, description=f"importing {path}")
                reports.append(import_path(db, path, args.category))
                progress.advance(task)
    finally:
        store.close()
    rejected = 0
    for r in reports:
        if args.json:
            print(json.dumps(r, ensure_ascii=False))
            continue
        if r["status"] != "imported":
            rejected += 1
            console.print(f"[red]REJECTED[/red] {r['source']}: {r['error']} (nothing imported from it)")
            continue
        console.print(f"[green]imported[/green] {r['source']} ({r['format']}): {len(r['products'])} product(s)")
        for p in r["read"]:
            console.print(f"   read     {p['product_id']}: {p['parts']} part(s), {p['materials']} material(s), "
                          f"{p['substances']} substance(s) ({p['substances_flagged']} flagged, "
                          f"{p['substances_presence_only']} presence only, {p['substances_below_lod']} below LOD)")
        for s in r["skipped"]:
            console.print(f"   skipped  {s['record']}: {s['reason']}")
        for w in r["warnings"]:
            console.print(f"   [yellow]warning[/yellow]  {w['record']}: {w['reason']}")
    if args.json:
        rejected = sum(1 for r in reports if r["status"] != "imported")
    return 1 if rejected else 0
