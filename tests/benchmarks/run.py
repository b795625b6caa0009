"""`make bench` / `python -m tests.benchmarks.run [--quick] [--only P1,P3]`: every figure beside its baseline.

Prints a rich table and writes ``bench-results.json`` ({"P1": {"value", "baseline", "ratio", "unit", ...}}).
Sizes: flags below, or env JUNKAN_BENCH_* (see --help). Numbers depend on the machine and on what
else runs on it; the ratios are measured in the same run, against baselines on the same machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from tests.benchmarks.common import Figure

REPO = Path(__file__).resolve().parents[2]
# Targets of issue 8 (figure -> (comparison, value)); "ratio>=" compares value/baseline.
TARGETS: dict[str, list[tuple[str, float]]] = {
    "P1": [("ratio>=", 0.8)],
    "P1_cpu": [("ratio<=", 1.5)],  # issue 16: gateway CPU per message / bare paho loop's
    "P2": [("value>=", 100_000), ("ratio>=", 0.4)],
    "P3": [("value>=", 20_000)],
    "P3_bytes": [("value<=", 200)],
    "P5": [("value<=", 20)],
    "P5_lineage": [("value<=", 20)],
    "P7_write": [("value<=", 4096)],
}


def _env_int(name: str) -> int | None:
    value = os.environ.get(name)
    return int(value) if value else None


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tests.benchmarks.run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes (about 3-5 minutes in all)")
    p.add_argument("--only", default="", help="comma list of P1,P2,P3,P4,P5,P6,P7,PG (default: all)")
    p.add_argument("--out", default=str(REPO / "bench-results.json"), help="JSON results file")
    p.add_argument("--p1-messages", type=int, default=_env_int("JUNKAN_BENCH_P1_MESSAGES"))
    p.add_argument("--p2-readings", type=int, default=_env_int("JUNKAN_BENCH_P2_READINGS"))
    p.add_argument("--p3-readings", type=int, default=_env_int("JUNKAN_BENCH_P3_READINGS"),
                   help="readings in the outbox backlog (default 1M; --quick 100k)")
    p.add_argument("--p5-lots", type=int, default=_env_int("JUNKAN_BENCH_P5_LOTS"),
                   help="lots in the generated store, 20 readings each (default 1M; --quick 20k)")
    p.add_argument("--p7-readings", type=int, default=_env_int("JUNKAN_BENCH_P7_READINGS"))
    p.add_argument("--pg-readings", type=int, default=_env_int("JUNKAN_BENCH_PG_READINGS"))
    return p.parse_args(argv)


def _vision(quick: bool) -> dict[str, Any]:
    try:
        from tests.benchmarks import bench_vision  # type: ignore[attr-defined]
    except ImportError as exc:
        return {"P4": f"skipped: tests/benchmarks/bench_vision.py not present ({exc})"}
    result: dict[str, Any] = bench_vision.run(quick)
    return result


def benches(args: argparse.Namespace) -> list[tuple[str, Callable[[], dict[str, Any]]]]:
    from tests.benchmarks import bench_agent, bench_ingest, bench_lineage, bench_workers, bench_writes

    q = args.quick
    return [
        ("P1", lambda: dict(bench_ingest.p1(q, args.p1_messages))),
        ("P2", lambda: {"P2": bench_ingest.p2(q, args.p2_readings)}),
        ("P3", lambda: bench_agent.p3(q, args.p3_readings)),
        ("P4", lambda: _vision(q)),
        ("P5", lambda: bench_lineage.p5_p6(q, args.p5_lots)),
        ("P7", lambda: {"P7": bench_agent.p7(q, args.p7_readings), **bench_writes.p7_write(q)}),
        ("PG", lambda: bench_workers.workers_bench(q, args.pg_readings)),
    ]


def verdict(key: str, fig: dict[str, Any]) -> str:
    checks = []
    for kind, target in TARGETS.get(key, []):
        field, op = kind[:-2], kind[-2:]
        got = fig.get(field)
        if got is None:
            continue
        ok = got >= target if op == ">=" else got <= target
        checks.append(f"{'met' if ok else 'MISSED'} {field}{op}{target:g}")
    return ", ".join(checks)


def render(results: dict[str, Any], console: Console) -> None:
    table = Table(title="junkan benchmarks (value beside its baseline, same run)")
    for col in ("figure", "value", "baseline", "ratio", "unit", "target", "what / baseline"):
        table.add_column(col, overflow="fold")
    for key, fig in results.items():
        if key.startswith("_"):
            continue
        if not isinstance(fig, dict) or "value" not in fig:
            table.add_row(key, "-", "-", "-", "-", "", str(fig))
            continue
        ratio = "-" if fig.get("ratio") is None else f"{fig['ratio']:.3g}x ({fig.get('better', 'higher')} better)"
        table.add_row(key, f"{fig['value']:,.4g}", "-" if fig.get("baseline") is None else f"{fig['baseline']:,.4g}",
                      ratio, str(fig.get("unit", "")), verdict(key, fig),
                      f"{fig.get('what', '')}\n  vs {fig.get('baseline_what', '')}"
                      + (f"\n  note: {fig['note']}" if fig.get("note") else ""))
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    only = {s.strip().upper() for s in args.only.split(",") if s.strip()}
    console = Console(width=None if sys.stdout.isatty() else 200)
    results: dict[str, Any] = {"_meta": {"quick": args.quick, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                                         "python": platform.python_version(), "machine": platform.machine(),
                                         "cpus": os.cpu_count(), "load_avg_at_start": os.getloadavg()}}
    failed = False
    for name, bench in benches(args):
        if only and name not in only and not (name == "P5" and "P6" in only):
            continue
        console.print(f"[bold]{name}[/bold] ...")
        started = time.perf_counter()
        try:
            for key, fig in bench().items():
                results[key] = fig.as_json() if isinstance(fig, Figure) else fig
        except Exception as exc:
            failed = True
            results[name] = f"FAILED: {type(exc).__name__}: {exc}"
            console.print(traceback.format_exc())
        console.print(f"  {name} done in {time.perf_counter() - started:.0f} s")
    results["_meta"]["load_avg_at_end"] = os.getloadavg()
    render(results, console)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    console.print(f"written {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
