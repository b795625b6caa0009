"""`junkan sim score --truth truth.jsonl --db gateway.db [--json FILE]`: measurement fidelity per lot."""

from __future__ import annotations

import argparse
import json
import sqlite3
from pathlib import Path
from typing import Any

from junkan.core.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("score", help="Compare the gateway's lot measurements with a scenario's truth.")
    p.add_argument("--truth", required=True, help="truth.jsonl written by `junkan sim scenario`.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--db", help="The gateway's SQLite store (gateway.db).")
    src.add_argument("--measurements", help="measurements.jsonl from `junkan sim scenario --offline`.")
    p.add_argument("--json", dest="json_out", help="Also write the summary as JSON to this file.")
    p.set_defaults(func=_run)


def read_lots(db: Path) -> dict[str, dict[str, Any]]:
    """Lots as stored by the gateway (read-only)."""
    if not db.is_file():
        raise UserError(f"{db}: no such gateway store")
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT lot_id, status, net_mass_kg, measurement FROM lots").fetchall()
    finally:
        conn.close()
    return {r[0]: {"lot_id": r[0], "status": r[1], "net_mass_kg": r[2], "measurement": json.loads(r[3] or "{}")}
            for r in rows}


def ok_zero_weighings(db: Path, below_kg: float = 0.04) -> int:
    """Weighings stored with status ok and (almost) no net mass: the signature of a tare taken from a loaded
    platform (tare = gross). Must be 0."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT COUNT(*) FROM readings WHERE kind='weighing' AND (status IS NULL OR status='ok') "
                           "AND value IS NOT NULL AND value < ?", (below_kg,)).fetchone()
    finally:
        conn.close()
    return int(row[0])


def _run(args: argparse.Namespace) -> int:
    from rich.table import Table

    from junkan.core.console import wide_console
    from simulators.plantline.score import score

    truth = [json.loads(line) for line in Path(args.truth).read_text(encoding="utf-8").splitlines() if line.strip()]
    if args.db:
        stored = read_lots(Path(args.db))
    else:
        lots = [json.loads(x) for x in Path(args.measurements).read_text(encoding="utf-8").splitlines() if x.strip()]
        stored = {lot["lot_id"]: lot for lot in lots}
    rows, summary = score(truth, stored)
    if args.db:
        summary["ok_zero_weighings"] = ok_zero_weighings(Path(args.db))
    table = Table(title="Lot measurement vs truth")
    for col in ("lot", "true kg", "mass err %", "polymer err pp", "CI hits", "CI width pp", "true Br ppm",
                "Br mean", "Br flag", "Br status", "degraded/missing"):
        table.add_column(col, justify="left" if col in ("lot", "degraded/missing") else "right")
    for r in rows:
        table.add_row(r["lot_id"], f"{r['true_mass_kg']:.2f}", _f(r["mass_error_pct"], 4), _f(r["polymer_error_pp"], 2),
                      f"{r['ci_hits']}/{r['ci_n']}", _f(r["ci_width_pp_mean"], 2), _f(r["true_br_ppm"], 0),
                      _f(r["br_mean_ppm"], 0), str(r["br_flag"]), str(r.get("br_status") or "-"),
                      ",".join(r["degraded"] + r["missing"]))
    console = wide_console()  # piped: every column kept
    console.print(table)
    console.print(json.dumps(summary, indent=1))
    console.print(f"coverage {_f(summary['ci_coverage'], 3)} at mean CI width {_f(summary['ci_width_pp_mean'], 2)} pp "
                  f"(visible pieces: {_f(summary['ci_coverage_visible'], 3)} at "
                  f"{_f(summary['ci_width_pp_mean_visible'], 2)} pp); Br false flags "
                  f"{_f(summary['br_false_flag_rate'], 3)} (excl. indeterminate "
                  f"{_f(summary['br_false_flag_rate_excl_indeterminate'], 3)}), precautionary rule "
                  f"{_f(summary['br_precautionary_false_flag_rate'], 3)}")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(summary, indent=1), encoding="utf-8")
    wrong = summary.get("unflagged_wrong_lots", 0) + summary.get("ok_zero_weighings", 0)
    if wrong:
        console.print(f"FAIL: {summary['unflagged_wrong_lots']} lot(s) off by more than 0.1 % without a flag, "
                      f"{summary.get('ok_zero_weighings', 0)} ok weighing(s) of 0 kg")
        return 3
    return 0 if rows else 1


def _f(x: float | None, digits: int) -> str:
    return "-" if x is None else f"{x:.{digits}f}"
