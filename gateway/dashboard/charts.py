"""Trend charts of the Trends page as SVG shapes, computed from stored lots (pure; the template draws them).

Server-rendered so nothing is fetched from a CDN and the page works without JavaScript. Every chart is a
``Chart`` of plain shapes (rects, lines, a polygon for a CI band, texts) in a fixed viewBox that CSS scales.
Device liveness is per lot (what each lot's measurement says about every device: contributed, impaired,
no data); the store keeps no backlog history, so the outbox chart is the agents' current backlog.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from typing_extensions import TypedDict

from gateway.dashboard.views import parse_ts
from gateway.store.rows import AgentRow, LotRow
from junkan.core.measurement_model import Measurement, readable_measurement

W, H, LEFT, RIGHT, TOP, BOTTOM = 640.0, 220.0, 52.0, 12.0, 14.0, 34.0


class Rect(TypedDict):
    x: float
    y: float
    w: float
    h: float
    cls: str
    title: str  # the tooltip (a lot id and its figure)
    href: str | None


class Segment(TypedDict):
    x1: float
    y1: float
    x2: float
    y2: float
    cls: str


class Polygon(TypedDict):
    points: str
    cls: str


class Label(TypedDict):
    x: float
    y: float
    text: str
    anchor: str
    cls: str


@dataclass
class Chart:
    key: str
    width: float = W
    height: float = H
    rects: list[Rect] = field(default_factory=list)
    lines: list[Segment] = field(default_factory=list)
    polygons: list[Polygon] = field(default_factory=list)
    texts: list[Label] = field(default_factory=list)
    legend: dict[str, str | int] = field(default_factory=dict)  # values for the caption (i18n fields)


def _closed(lots: Sequence[LotRow], limit: int = 60) -> list[tuple[LotRow, Measurement | None]]:
    rows = sorted((lot for lot in lots if lot.get("status") == "closed" and lot.get("closed_at")),
                  key=lambda lot: lot["closed_at"] or "")[-limit:]
    return [(lot, readable_measurement(lot.get("measurement"))) for lot in rows]


def _hhmm(lot: LotRow) -> str:
    return (lot["closed_at"] or "")[11:16]


def nice_top(value: float) -> float:
    """The smallest 1/2/2.5/5 x 10^k at or above ``value`` (ticks at quarters stay round numbers)."""
    if value <= 0:
        return 4.0
    exp = 10 ** math.floor(math.log10(value))
    return next(m * exp for m in (1, 2, 2.5, 5, 10) if m * exp >= value - 1e-12)


def _axes(chart: Chart, y_max: float, y_fmt: str, n_ticks: int = 4, y_min: float = 0.0) -> None:
    plot_h = chart.height - TOP - BOTTOM
    for i in range(n_ticks + 1):
        value = y_min + (y_max - y_min) * i / n_ticks
        y = chart.height - BOTTOM - plot_h * i / n_ticks
        chart.lines.append({"x1": LEFT, "x2": chart.width - RIGHT, "y1": y, "y2": y, "cls": "grid"})
        chart.texts.append({"x": LEFT - 6, "y": y + 4, "text": y_fmt.format(value), "anchor": "end", "cls": "tick"})


def _y(value: float, y_max: float, height: float = H, y_min: float = 0.0) -> float:
    span = (y_max - y_min) or 1.0
    return round(height - BOTTOM - (height - TOP - BOTTOM) * (min(max(value, y_min), y_max) - y_min) / span, 2)


def _x_labels(chart: Chart, labels: list[str], xs: list[float]) -> None:
    step = max(1, len(labels) // 6)
    for i in range(0, len(labels), step):
        chart.texts.append({"x": xs[i], "y": chart.height - BOTTOM + 16, "text": labels[i], "anchor": "middle",
                            "cls": "tick"})


def purity_trend(lots: Sequence[LotRow]) -> Chart | None:
    """Share by mass of the lots' usual main polymer, per closed lot in time order, with its 95 % CI band."""
    data = [(lot, m) for lot, m in _closed(lots) if m is not None and m.composition.by_mass]
    if not data:
        return None
    polymer = Counter(max(m.composition.by_mass.items(), key=lambda kv: kv[1].share)[0] for _, m in data
                      ).most_common(1)[0][0]
    points = [(lot, m.composition.by_mass.get(polymer)) for lot, m in data]
    shares = [(lot, s) for lot, s in points if s is not None]
    lows = [s.ci95[0] for _, s in shares]
    y_min = max(0.0, (int(min(lows) * 10) / 10.0) if lows else 0.0)
    chart = Chart("purity", legend={"polymer": polymer, "n": len(shares)})
    _axes(chart, 1.0, "{:.0%}", 4, y_min)
    xs = _xs(len(shares))
    upper = [f"{x},{_y(s.ci95[1], 1.0, y_min=y_min)}" for x, (_, s) in zip(xs, shares, strict=True)]
    lower = [f"{x},{_y(s.ci95[0], 1.0, y_min=y_min)}" for x, (_, s) in zip(xs, shares, strict=True)]
    chart.polygons.append({"points": " ".join(upper + lower[::-1]), "cls": "band"})
    prev = None
    for x, (lot, s) in zip(xs, shares, strict=True):
        y = _y(s.share, 1.0, y_min=y_min)
        if prev:
            chart.lines.append({"x1": prev[0], "y1": prev[1], "x2": x, "y2": y, "cls": "series"})
        chart.rects.append({"x": x - 3, "y": y - 3, "w": 6, "h": 6, "cls": "dot", "href": f"/lots/{lot['lot_id']}",
                            "title": f"{lot['lot_id']}: {100 * s.share:.1f} % [{100 * s.ci95[0]:.1f}, "
                                     f"{100 * s.ci95[1]:.1f}]"})
        prev = (x, y)
    _x_labels(chart, [_hhmm(lot) for lot, _ in shares], xs)
    return chart


def _xs(n: int) -> list[float]:
    plot_w = W - LEFT - RIGHT
    return [round(LEFT + plot_w * (i + 0.5) / n, 2) for i in range(n)]


def _bars(key: str, labels: list[str], values: list[float], titles: list[str], hrefs: list[str | None],
          fmt: str) -> Chart:
    chart = Chart(key)
    top = max(nice_top(max(values) * 1.05), 4.0)
    _axes(chart, top, fmt)
    xs = _xs(len(values))
    bar_w = max(2.0, (W - LEFT - RIGHT) / max(len(values), 1) * 0.7)
    for x, v, title, href in zip(xs, values, titles, hrefs, strict=True):
        y = _y(v, top)
        chart.rects.append({"x": round(x - bar_w / 2, 2), "y": y, "w": round(bar_w, 2), "h": round(H - BOTTOM - y, 2),
                            "cls": "bar", "title": title, "href": href})
    _x_labels(chart, labels, xs)
    return chart


def mass_per_lot(lots: Sequence[LotRow]) -> Chart | None:
    rows = _closed(lots)
    if not rows:
        return None
    return _bars("mass", [_hhmm(lot) for lot, _ in rows], [float(lot["net_mass_kg"]) for lot, _ in rows],
                 [f"{lot['lot_id']}: {lot['net_mass_kg']:,.2f} kg" for lot, _ in rows],
                 [f"/lots/{lot['lot_id']}" for lot, _ in rows], "{:,.0f}")


def throughput_per_hour(lots: Sequence[LotRow], hours: int = 24) -> Chart | None:
    """Net mass of the lots closed in each clock hour (UTC), the last ``hours`` hours that had any."""
    per_hour: dict[str, float] = defaultdict(float)
    for lot, _ in _closed(lots, limit=10_000):
        ts = parse_ts(lot["closed_at"])
        if ts is not None:
            per_hour[ts.strftime("%m-%d %H:00")] += float(lot["net_mass_kg"])
    if not per_hour:
        return None
    keys = sorted(per_hour)[-hours:]
    return _bars("throughput", [k[6:] for k in keys], [per_hour[k] for k in keys],
                 [f"{k}: {per_hour[k]:,.1f} kg" for k in keys], [None] * len(keys), "{:,.0f}")


def contaminant_vs_limit(lots: Sequence[LotRow], element: str = "Br") -> Chart | None:
    """The element's lot mean with its 95 % CI per closed lot, against its limit (a red line)."""
    rows = [(lot, m.contaminants[element]) for lot, m in _closed(lots) if m is not None and element in m.contaminants
            and m.contaminants[element].n]
    if not rows:
        return None
    limits = sorted({float(k) for _, c in rows for k in c.thresholds})
    limit = limits[0] if limits else None
    uppers = [c.mean_ci95_ppm[1] if c.mean_ci95_ppm and c.mean_ci95_ppm[1] is not None else c.mean_ppm or 0.0
              for _, c in rows]
    top = nice_top(max([*uppers, (limit or 0.0) * 1.5, 1.0]) * 1.05)
    chart = Chart("contaminant", legend={"element": element, "limit": f"{limit:,.0f}" if limit else "—"})
    _axes(chart, top, "{:,.0f}")
    xs = _xs(len(rows))
    for x, (lot, c), up in zip(xs, rows, uppers, strict=True):
        lo = c.mean_ci95_ppm[0] if c.mean_ci95_ppm else c.mean_ppm or 0.0
        chart.lines.append({"x1": x, "x2": x, "y1": _y(lo, top), "y2": _y(up, top), "cls": "whisker"})
        censored = c.n_below_lod >= c.n
        y = _y(c.mean_ppm or 0.0, top)
        over = limit is not None and (c.mean_ppm or 0.0) >= limit
        chart.rects.append({"x": x - 3, "y": y - 3, "w": 6, "h": 6, "cls": "dot over" if over else
                            ("dot lod" if censored else "dot"), "href": f"/lots/{lot['lot_id']}",
                            "title": f"{lot['lot_id']}: " + ("<LOD" if censored else f"{c.mean_ppm or 0:,.0f} ppm")})
    if limit is not None:
        chart.lines.append({"x1": LEFT, "x2": W - RIGHT, "y1": _y(limit, top), "y2": _y(limit, top), "cls": "limit"})
    _x_labels(chart, [_hhmm(lot) for lot, _ in rows], xs)
    return chart


class DeviceLabel(TypedDict):
    name: str
    y: float


class Cell(TypedDict):
    x: float
    y: float
    state: str  # ok / degraded / missing / none
    title: str


@dataclass(frozen=True)
class Liveness:
    """Devices x lots grid of the liveness chart."""

    devices: list[DeviceLabel]
    cells: list[Cell]
    cell: float
    label_w: float
    width: float
    height: float


def device_liveness(lots: Sequence[LotRow]) -> Liveness | None:
    """Devices x lots: contributed (ok) / impaired (degraded) / no data (missing), per closed lot in time order."""
    rows = [(lot, m) for lot, m in _closed(lots, limit=40) if m is not None]
    if not rows:
        return None
    devices = sorted({d for _, m in rows for d in (*m.devices.contributed, *m.devices.missing)})
    cell, label_w = 14.0, 96.0
    cells: list[Cell] = []
    for j, (lot, m) in enumerate(rows):
        degraded = {d.device for d in m.devices.degraded}
        for i, device in enumerate(devices):
            state = ("missing" if device in m.devices.missing else "degraded" if device in degraded
                     else "ok" if device in m.devices.contributed else "none")
            cells.append({"x": label_w + j * cell, "y": 6 + i * cell, "state": state,
                          "title": f"{device} · {lot['lot_id']}: {state}"})
    return Liveness(devices=[{"name": d, "y": 6 + i * cell + 11} for i, d in enumerate(devices)], cells=cells,
                    cell=cell - 2, label_w=label_w, width=label_w + len(rows) * cell + 6,
                    height=12 + len(devices) * cell)


def outbox_now(agents: Sequence[AgentRow]) -> Chart | None:
    if not agents:
        return None
    return _bars("outbox", [a["agent"][-12:] for a in agents], [float(a.get("outbox_depth") or 0) for a in agents],
                 [f"{a['agent']}: {a.get('outbox_depth') or 0}" for a in agents], [None] * len(agents), "{:,.0f}")


@dataclass(frozen=True)
class TrendCharts:
    """Everything the Trends page draws (None: no data for that chart)."""

    purity: Chart | None
    mass: Chart | None
    throughput: Chart | None
    contaminant: Chart | None
    liveness: Liveness | None
    outbox: Chart | None


def trend_charts(lots: Sequence[LotRow], agents: Sequence[AgentRow]) -> TrendCharts:
    return TrendCharts(purity=purity_trend(lots), mass=mass_per_lot(lots), throughput=throughput_per_hour(lots),
                       contaminant=contaminant_vs_limit(lots), liveness=device_liveness(lots),
                       outbox=outbox_now(agents))
