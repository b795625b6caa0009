"""What `junkan demo` prints: one line per closed lot as the gateway measured it, the scale-only table, next steps.

Read from the gateway's REST API (what an operator's dashboard shows), not from the simulator's truth: the
demo is there to show the measurement, and `junkan sim score` compares it with the truth afterwards.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table


def lot_line(lot: dict[str, Any], api: str) -> str | None:
    """``None`` while the lot's measurement has not arrived (a closed lot's summary comes with it)."""
    m = lot.get("measurement") or {}
    if "net_mass_kg" not in m and "error" not in m:
        return None
    parts = [f"[bold]{escape(lot['lot_id'])}[/bold]", f"{lot['net_mass_kg']:.2f} kg ({lot['n_weighings']} weighings)"]
    if "error" in m:
        parts.append(f"[red]measurement failed: {escape(str(m['error']))}[/red]")
    else:
        parts.append(_top_polymer(m))
        parts.append(_contaminants(m))
        models = m.get("product_models") or []
        shown = ", ".join(f"{p['model']}×{p['count']}" for p in models[:3])
        parts.append(f"models: {escape(shown)}{' …' if len(models) > 3 else ''}" if models else "models: none read")
        bad = sorted({d["device"] for d in m["devices"]["degraded"]} | set(m["devices"]["missing"]))
        if bad:
            parts.append(f"[yellow]devices flagged: {escape(', '.join(bad))}[/yellow]")
    parts.append(f"evidence: {api}/lots/{lot['lot_id']}")
    return "  ".join(parts)


def _top_polymer(m: dict[str, Any]) -> str:
    by_mass = m["composition"]["by_mass"]
    if not by_mass:
        return "composition: no NIR pieces"
    name, share = max(by_mass.items(), key=lambda kv: kv[1]["share"])
    lo, hi = share["ci95"]
    return f"{escape(name)} {100 * share['share']:.1f} % [{100 * lo:.1f}, {100 * hi:.1f}] by mass"


def _contaminants(m: dict[str, Any]) -> str:
    flags = [f"{el} > {limit} ppm ({t['status']})" for el, c in sorted(m["contaminants"].items())
             for limit, t in c["thresholds"].items() if t["flag"] and t["status"] != "no_data"]
    if not m["contaminants"]:
        return "contaminants: no XRF data"
    return f"[red]FLAG {escape(', '.join(flags))}[/red]" if flags else "[green]no contaminant flag[/green]"


class LotPrinter:
    """Polls the gateway for closed lots and prints each once, as soon as its measurement is stored."""

    def __init__(self, api: str, console: Console, interval_s: float = 1.0) -> None:
        self.api, self.console, self.interval_s = api, console, interval_s
        self.shown: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="lot-printer", daemon=True)

    def _get(self, path: str) -> Any:
        with urllib.request.urlopen(self.api + path, timeout=5) as resp:
            return json.loads(resp.read())

    def flush(self) -> None:
        """Print every closed lot not printed yet (also called once before the plant stops)."""
        with self._lock:
            try:
                closed = self._get("/api/v1/lots?status=closed&limit=1000")
            except OSError:
                return  # gateway restarting or stopping: next round
            for lot in sorted(closed, key=lambda r: r["closed_at"] or ""):
                if lot["lot_id"] in self.shown:
                    continue
                line = lot_line(lot, self.api)
                if line is not None:
                    self.shown.append(lot["lot_id"])
                    self.console.print(line, highlight=False)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.flush()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def next_steps(workdir: Path, closed: list[str], shown: list[str]) -> str:
    lot = (shown or closed or ["LOT"])[0]
    db = workdir / "gateway.db"
    return "\n".join([
        f"{len(shown)} lots measured and shown ({len(closed)} closed by the operator). Next steps:",
        f"  dashboard again:  junkan gateway serve --set db_url=sqlite:///{db} --set consume=false  "
        "(then http://127.0.0.1:8080/)",
        f"  evidence:         junkan gateway evidence {lot} --db {db} --format pdf --out {lot}.pdf   "
        "(or pdf-ja, html, html-ja, json, epcis, untp-dcc, untp-dte, untp-dpp, catenax, ipc1752a, jws)",
        f"  verify a JWS:     junkan gateway evidence {lot} --db {db} --format jws --out {lot}.jwt && "
        f"junkan verify {lot}.jwt --key {workdir / 'plant_public_key.pem'}",
        f"  lineage:          junkan gateway lineage {lot} --db {db}",
        f"  score vs truth:   junkan sim score --truth {workdir / 'truth.jsonl'} --db {db}",
        "  longer run:       junkan demo --duration 0   (until Ctrl-C)",
    ])


def lots_table(stored: list[dict], truth: list[dict]) -> Table:  # type: ignore[type-arg]
    """The scale-only demo: stored lots beside the simulator's truth."""
    by_id = {t["lot_id"]: t for t in truth}
    table = Table(title="Lots at the gateway vs simulator truth")
    for col in ("lot", "status", "weighings", "stored net kg", "true net kg", "error %"):
        table.add_column(col, justify="right" if col != "lot" else "left", no_wrap=True)
    for lot in sorted(stored, key=lambda r: r["opened_at"]):
        t = by_id.get(lot["lot_id"])
        err = f"{100 * (lot['net_mass_kg'] - t['net_mass_kg']) / t['net_mass_kg']:+.3f}" if t else "-"
        table.add_row(lot["lot_id"], lot["status"], str(lot["n_weighings"]), f"{lot['net_mass_kg']:.2f}",
                      f"{t['net_mass_kg']:.2f}" if t else "(open)", err)
    return table
