"""Pure shaping of store rows into what the pages show: line overview, alarms, chart geometry.

No I/O here: the router reads the store and hands rows in, so every rule is testable with plain rows; what
comes out is typed (the templates read attributes).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import ValidationError
from typing_extensions import TypedDict

from gateway.dashboard.lineage_view import lineage_layout as lineage_layout  # re-exported: router, tests
from gateway.store.rows import AgentRow, DeviceRow, LotRow
from gateway.traceability.rows import AlarmRow
from junkan.core.censored import contaminant_texts
from junkan.core.measurement_model import (
    Composition,
    CountShare,
    LiveMass,
    MassShare,
    Measurement,
    readable_measurement,
)
from junkan.core.messages import LotSummary

AGENT_SILENT_S = 30.0  # no status for this long: the agent's devices are shown stale
BACKLOG_ALARM = 1000  # outbox messages waiting: raise an alarm
BACKLOG_AGE_ALARM_S = 300.0  # oldest outbox message older than this: raise an alarm


def parse_ts(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        return None
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def age_s(value: Any, now: datetime) -> float | None:
    ts = parse_ts(value)
    return None if ts is None else max(0.0, (now - ts).total_seconds())


def device_state(device: DeviceRow, agent: AgentRow | None, now: datetime) -> str:
    """alive | stale | error | starting | unavailable | offline, as an operator should read it now."""
    if agent is not None and agent.get("state") == "offline":
        return "offline"
    silent = age_s(agent.get("at"), now) if agent else None
    if silent is not None and silent > AGENT_SILENT_S:
        return "stale"
    state = device.get("state")
    return state if state in ("alive", "stale", "error", "starting", "unavailable") else "stale"


@dataclass(frozen=True)
class OpenLotView:
    """An online agent's open lot, as its last status message reported it."""

    lot_id: str
    opened_at: str
    n_weighings: int
    net_mass_kg: float
    live_mass_kg: float | None  # weighed plus what is on the scale now
    composition: Composition | None


@dataclass(frozen=True)
class AgentView:
    agent: str
    state: str | None
    at: str | None
    outbox_depth: int
    outbox_oldest_age_s: float
    alarms: list[str]
    open_lot: OpenLotView | None


@dataclass(frozen=True)
class DeviceView:
    """A device row with the state an operator should read now (``view_state``)."""

    agent: str
    device: str
    driver: str | None
    view_state: str
    last_reading_at: str | None
    frames_ok: int
    frames_bad: int
    last_error: str | None


@dataclass
class LineView:
    line: str
    site: str | None
    agents: list[AgentView] = field(default_factory=list)
    devices: list[DeviceView] = field(default_factory=list)
    open_lot: OpenLotView | None = None


class DevicePayload(TypedDict):
    state: str
    frames_bad: int
    last_reading_at: str | None


class LinePayload(TypedDict):
    """What the Lines page updates over Server-Sent Events for one line (JSON)."""

    lot_id: str | None
    live_mass_kg: float | None
    net_mass_kg: float | None
    n_weighings: int | None
    devices: dict[str, DevicePayload]
    outbox_depth: int


def open_lot_view(agent: AgentRow) -> OpenLotView | None:
    raw = agent.get("open_lot")
    if not raw:
        return None
    try:
        lot = LotSummary.model_validate(raw)
    except ValidationError:
        return None  # a status this gateway cannot read: no open lot shown rather than a wrong one
    progress = lot.measurement
    return OpenLotView(lot_id=lot.lot_id, opened_at=lot.opened_at.isoformat(), n_weighings=lot.n_weighings,
                       net_mass_kg=lot.net_mass_kg,
                       live_mass_kg=progress.live_mass_kg if isinstance(progress, LiveMass) else None,
                       composition=progress.composition if isinstance(progress, Measurement) else None)


def line_overview(agents: Sequence[AgentRow], devices: Sequence[DeviceRow], now: datetime) -> list[LineView]:
    """One entry per line: its agents (state, backlog, alarms, open lot) and devices (liveness, errors)."""
    by_agent = {a["agent"]: a for a in agents}
    lines: dict[str, LineView] = {}
    for agent in agents:
        entry = lines.setdefault(agent["line"], LineView(agent["line"], agent.get("site")))
        lot = open_lot_view(agent) if agent.get("state") == "online" else None
        entry.agents.append(AgentView(agent=agent["agent"], state=agent.get("state"), at=agent.get("at"),
                                      outbox_depth=int(agent.get("outbox_depth") or 0),
                                      outbox_oldest_age_s=float(agent.get("outbox_oldest_age_s") or 0.0),
                                      alarms=list(agent.get("alarms") or []), open_lot=lot))
        entry.open_lot = entry.open_lot or lot
    for device in devices:
        entry = lines.setdefault(device["line"], LineView(device["line"], device.get("site")))
        entry.devices.append(DeviceView(
            agent=device["agent"], device=device["device"], driver=device.get("driver"),
            view_state=device_state(device, by_agent.get(device["agent"]), now),
            last_reading_at=device.get("last_reading_at"), frames_ok=int(device.get("frames_ok") or 0),
            frames_bad=int(device.get("frames_bad") or 0), last_error=device.get("last_error")))
    return [lines[k] for k in sorted(lines)]


def live_payload(agents: Sequence[AgentRow], devices: Sequence[DeviceRow], now: datetime) -> dict[str, LinePayload]:
    """What the Lines page updates over Server-Sent Events, per line."""
    out: dict[str, LinePayload] = {}
    for line in line_overview(agents, devices, now):
        lot = line.open_lot
        out[line.line] = {
            "lot_id": lot.lot_id if lot else None,
            "live_mass_kg": lot.live_mass_kg if lot else None,
            "net_mass_kg": lot.net_mass_kg if lot else None,
            "n_weighings": lot.n_weighings if lot else None,
            "devices": {f"{d.agent}/{d.device}": {"state": d.view_state, "frames_bad": d.frames_bad,
                                                 "last_reading_at": d.last_reading_at} for d in line.devices},
            "outbox_depth": sum(a.outbox_depth for a in line.agents),
        }
    return out


@dataclass(frozen=True)
class ContaminantFlag:
    """One (element, threshold) row of the lot page: over (mean or p95 at/above), some (share above > 0), ok."""

    element: str
    n: int
    mean_ppm: float | None
    p95_ppm: float | None
    max_ppm: float | None
    method: str
    threshold_ppm: float | None
    fraction_above: float | None
    ci95: tuple[float, float] | None
    flag: str | None  # None: no verdict (no readings, or no threshold), never "ok"
    mean_text: str = ""  # mean / p95 / max as shown: '<LOD (x)' when censored (junkan.core.censored)
    p95_text: str = ""
    max_text: str = ""


def contaminant_rows(measurement: Measurement | None) -> list[ContaminantFlag]:
    """One row per (element, threshold), flagged: over (mean or p95 at/above), some (share above > 0), ok."""
    rows: list[ContaminantFlag] = []
    if measurement is None:
        return rows
    for element, c in sorted(measurement.contaminants.items()):
        texts = contaminant_texts(c)  # the one shared rendering of censored values
        base = ContaminantFlag(element=element, n=c.n, mean_ppm=c.mean_ppm, p95_ppm=c.p95_ppm, max_ppm=c.max_ppm,
                               method=c.method, threshold_ppm=None, fraction_above=None, ci95=None, flag=None,
                               mean_text=texts["mean"], p95_text=texts["p95"], max_text=texts["max"])
        if not c.thresholds:
            rows.append(base)
        for key in sorted(c.thresholds, key=lambda k: _float(k) or 0.0):
            limit = _float(key)
            t = c.thresholds[key]
            rows.append(replace(base, threshold_ppm=limit, fraction_above=t.fraction_above, ci95=t.ci95,
                                flag=flag(c.mean_ppm, c.p95_ppm, t.fraction_above, limit)
                                if c.n != 0 else None))  # no measurements: no verdict, never "ok"
    return rows


def lot_brief(lot: LotRow) -> dict[str, str | None]:
    """The lots table's verdict columns: top polymer by mass with its CI, and the worst contaminant flag."""
    m = readable_measurement(lot.get("measurement"))
    if m is None:
        return {"top": None, "flag": None}
    by_mass = m.composition.by_mass
    top = None
    if by_mass:
        name, share = max(by_mass.items(), key=lambda kv: kv[1].share)
        top = f"{name} {100 * share.share:.1f} % [{100 * share.ci95[0]:.1f}, {100 * share.ci95[1]:.1f}]"
    flags = [r.flag for r in contaminant_rows(m) if r.flag]
    worst = next((f for f in ("over", "some", "ok") if f in flags), None)
    return {"top": top, "flag": worst}


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def flag(mean: float | None, p95: float | None, fraction_above: float | None, limit: float | None) -> str | None:
    if limit is None or (mean is None and p95 is None and fraction_above is None):
        return None
    if (mean is not None and mean >= limit) or (p95 is not None and p95 >= limit):
        return "over"
    if fraction_above:
        return "some"
    return "ok"


@dataclass(frozen=True)
class Bar:
    name: str
    share: float
    ci95: tuple[float, float]
    n: int | None
    y: float
    bar_w: float
    x0: float
    ci_x1: float
    ci_x2: float
    cy: float
    text_x: float


@dataclass(frozen=True)
class BarChart:
    """Geometry of a horizontal bar chart (share with its 95 % CI whisker) for an inline SVG."""

    basis: str
    bars: list[Bar]
    width: float
    height: float
    plot_w: float
    label_w: float
    row_h: float


def composition_bars(measurement: Measurement | None, basis: Literal["by_mass", "by_count"] = "by_mass",
                     width: float = 520.0, row_h: float = 26.0, label_w: float = 90.0) -> BarChart | None:
    """The chart of one basis of the lot's composition, largest share first; None without shares."""
    if measurement is None:
        return None
    comp = measurement.composition
    shares: dict[str, MassShare | CountShare] = {**(comp.by_mass if basis == "by_mass" else comp.by_count)}
    bars = []
    plot_w = width - label_w - 140  # room right of a 100 % bar for "99.9 % [99.1, 100.0]"
    for i, (name, v) in enumerate(sorted(shares.items(), key=lambda kv: -kv[1].share)):
        share = min(max(v.share, 0.0), 1.0)
        lo, hi = (min(max(v.ci95[0], 0.0), 1.0), min(max(v.ci95[1], 0.0), 1.0))
        y = 10 + i * row_h
        bars.append(Bar(name=name, share=share, ci95=(lo, hi), n=v.n if isinstance(v, CountShare) else None, y=y,
                        bar_w=round(share * plot_w, 2), x0=label_w, ci_x1=round(label_w + lo * plot_w, 2),
                        ci_x2=round(label_w + hi * plot_w, 2), cy=y + row_h * 0.35,
                        text_x=round(label_w + max(hi, share) * plot_w + 6, 2)))
    if not bars:
        return None
    return BarChart(basis=basis, bars=bars, width=width, height=20 + len(bars) * row_h, plot_w=plot_w,
                    label_w=label_w, row_h=row_h)


@dataclass(frozen=True)
class Alarm:
    """Something an operator should act on."""

    kind: Literal["spec", "balance", "device", "outbox", "agent"]
    where: str
    since: str | None
    detail: str  # data (a device's error text, a balance detail); shown as it is
    detail_key: str | None = None  # a UI sentence (i18n key) filled with ``params``, instead of ``detail``
    params: dict[str, str | int] = field(default_factory=dict)
    state: str | None = None  # device alarms: the state, translated on the page
    scope: str | None = None  # balance alarms: step | lot | period, translated on the page
    alarm_id: int | None = None  # balance alarms: cleared with POST /api/v1/process/alarms/{alarm_id}/clear


def alarms(agents: Sequence[AgentRow], devices: Sequence[DeviceRow], lots: Sequence[LotRow],
           balance: Sequence[AlarmRow], now: datetime) -> list[Alarm]:
    """Everything an operator should act on: spec exceedances, balance violations, outages, backlogs."""
    out: list[Alarm] = []
    by_agent = {a["agent"]: a for a in agents}
    for lot in lots:
        for row in contaminant_rows(readable_measurement(lot.get("measurement"))):
            if row.flag == "over":
                out.append(Alarm("spec", lot["lot_id"], lot.get("closed_at") or lot.get("opened_at"), "",
                                 detail_key="detail_spec",
                                 params={"element": row.element, "mean": row.mean_text, "p95": row.p95_text,
                                         "limit": _fmt(row.threshold_ppm)}))
    for alarm in balance:
        scope = alarm.get("scope") if alarm.get("scope") in ("step", "lot", "period") else None
        where = str(alarm.get("ref", "")) if scope else f"{alarm.get('scope', '')} {alarm.get('ref', '')}".strip()
        key, params = _balance_detail(alarm.get("detail"))
        raw = alarm.get("detail", "")
        shown = "" if key else (raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False))[:300]
        out.append(Alarm("balance", where, alarm.get("raised_at"), shown, detail_key=key, params=params, scope=scope,
                         alarm_id=alarm.get("id")))
    for device in devices:
        state = device_state(device, by_agent.get(device["agent"]), now)
        if state in ("stale", "error", "offline"):
            out.append(Alarm("device", f"{device['line']} / {device['agent']} / {device['device']}",
                             device.get("last_reading_at") or device.get("updated_at"),
                             device.get("last_error") or "", state=state))
    for agent in agents:
        depth, oldest = int(agent.get("outbox_depth") or 0), float(agent.get("outbox_oldest_age_s") or 0.0)
        if depth >= BACKLOG_ALARM or oldest >= BACKLOG_AGE_ALARM_S:
            out.append(Alarm("outbox", f"{agent['line']} / {agent['agent']}", agent.get("at"), "",
                             detail_key="detail_outbox", params={"depth": depth, "oldest": f"{oldest:.0f}"}))
        for text in agent.get("alarms") or []:
            out.append(Alarm("agent", f"{agent['line']} / {agent['agent']}", agent.get("at"), str(text)))
    return out


def _balance_detail(raw: Any) -> tuple[str | None, dict[str, str | int]]:
    """A balance alarm's stored detail (JSON: {"balance": {...}}) as a sentence's values, or (None, {})."""
    try:
        doc = json.loads(raw) if isinstance(raw, str) else raw
        b = doc["balance"]
        inp = float(b["input_kg"])
        return "detail_balance", {
            "input": f"{inp:,.1f}", "output": f"{float(b['output_kg']):,.1f}",
            "loss": f"{float(b['declared_loss_kg']):,.1f}", "unaccounted": f"{float(b['unaccounted_kg']):,.1f}",
            "share": f"{100 * float(b['unaccounted_kg']) / inp:.1f}" if inp else "—",
            "tolerance": f"{100 * float(b['tolerance']):.1f}"}
    except (ValueError, TypeError, KeyError, AttributeError):
        return None, {}


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"
