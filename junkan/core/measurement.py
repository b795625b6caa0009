"""Lot measurement: from the readings of one lot to composition, contaminants and data quality (pure).

Two halves, both pure: ``add_reading``/``add_weighing``/``add_zero`` fold readings into a small
``LotEvidence`` (kept in the open lot's state, persisted with the outbox), and ``measure`` turns it into
the ``Measurement`` that ``LotSummary.measurement`` carries. The gateway re-computes a lot by
replaying its stored readings through the same functions (``evidence_from_readings``).

Which sensor sees what (see docs/scenarios.md):
- scale under the output container (``weighing``): net mass = sum of (stable gross - stable tare).
- NIR on the output stream (``nir_object``: polymer, size_mm per observed piece): composition. The sorter's
  own counters (``nir_counts``) describe its *input* and what it believed it ejected, so they never
  stand in for the output's composition; they only tell whether the sorter ran.
- XRF spot checks of output pieces (``xrf``): contaminants.
- camera over the output stream (``conveyor``): NIR-blind (dark) share; camera at dismantling (``ident``):
  product models.

Mass from counts and sizes: a piece of polymer p and size s (mm) weighs
``density_p * thickness_p * shape_factor * s**2`` (flakes are plates). Within one polymer the factor is a
constant, so the evidence keeps only n, sum s^2 and sum s^4 per polymer and the factors are applied at
``measure`` time; changing the calibration re-computes without the raw events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Literal

from junkan.core.lot_evidence import (
    ContainerWeighing,
    ConveyorSums,
    DeviceActivity,
    LotEvidence,
    PolymerSums,
    WeighingIssueSums,
    XrfSpot,
    ZeroRange,
)
from junkan.core.measurement_model import (
    METHOD,
    BlindShare,
    Composition,
    Contaminant,
    CountShare,
    Degraded,
    DeviceQuality,
    MassShare,
    Measurement,
    MeasurementParams,
    ProductCount,
    Thickness,
    ThresholdResult,
    WeighingIssues,
)
from junkan.core.stats import (
    ShareSums,
    factor_share_var,
    km_fraction_above,
    km_left_censored,
    mean_ci,
    ratio_var,
    share_interval,
    threshold_decision,
    wilson,
)

__all__ = ["METHOD", "LotEvidence", "Measurement", "MeasurementParams", "add_reading", "add_weighing", "add_zero",
           "evidence_from_readings", "measure", "new_evidence"]
UNIDENTIFIED = frozenset({"", "unknown", "none", "black", "dark", "unidentified"})
ELEMENTS = ("Br", "Cd", "Pb", "Hg", "Cr")


# -- evidence: folding readings in -----------------------------------------------------------------------


def new_evidence() -> LotEvidence:
    """Empty evidence of one lot."""
    return LotEvidence()


def add_reading(ev: LotEvidence, device: str, kind: str, ts: datetime, data: dict[str, Any]) -> None:
    """Fold one reading into the evidence. Never raises: odd data is skipped and counted."""
    if kind != "source_event":  # an event about the source is not a reading of what it measures
        _touch(ev, device, kind, ts)
    try:
        if kind == "nir_object":
            if data.get("model_fit_for_sorting") is False:  # its model card says: not fit for sorting
                ev.nir_model_not_fit[device] = ev.nir_model_not_fit.get(device, 0) + 1
            _add_object(ev, data)
        elif kind == "xrf":
            _add_xrf(ev, data)
        elif kind == "conveyor":
            _add_conveyor(ev.conveyor, data)
        elif kind == "ident":
            _add_ident(ev, data)
        elif kind == "nir_counts":
            _add_sorter(ev, data)
        elif kind == "source_event" and data.get("event") not in _BENIGN_EVENTS:
            _count(ev.source_events, device, str(data.get("event") or "unknown"))  # offline, seq gap ...
        elif kind == "counter" and data.get("reset"):
            _count(ev.source_events, device, "counter reset (counts between the last read and the reset lost)")
        elif kind == "alarm" and data.get("active"):
            _count(ev.source_events, device, f"alarm {data.get('name') or data.get('metric') or data.get('node') or ''}"
                   .strip())
    except (TypeError, ValueError, KeyError, AttributeError):
        ev.bad_readings += 1


_BENIGN_EVENTS = frozenset({"online", "birth", "rebirth"})


def _count(table: dict[str, dict[str, int]], device: str, what: str) -> None:
    by_what = table.setdefault(device, {})
    by_what[what] = by_what.get(what, 0) + 1


def note_source_event(ev: LotEvidence, device: str, what: str) -> None:
    """Something about a source the lot must show (the agent's own observations, e.g. at close)."""
    _count(ev.source_events, device, what)


def add_weighing(ev: LotEvidence, device: str, ts: datetime, net_kg: float, tare_kg: float) -> None:
    """A completed container weighing (net already = gross - tare - zero drift during the fill)."""
    _touch(ev, device, "weighing", ts)
    ev.weighings.append(ContainerWeighing(net_kg=round(net_kg, 6), tare_kg=round(tare_kg, 6)))


def add_weighing_issue(ev: LotEvidence, device: str, ts: datetime, reason: str,
                       net_upper_kg: float | None) -> None:
    """A container whose mass is not known (tare unknown after a restart, gross not seen, no net mass):
    counted, with the most its net can be, and never added to the lot's mass."""
    _touch(ev, device, "weighing", ts)
    entry = ev.weighing_issues.setdefault(device, {}).setdefault(reason, WeighingIssueSums())
    entry.count += 1
    if net_upper_kg is None:
        entry.unbounded += 1  # no upper bound known for this one
    else:
        entry.upper_kg = round(entry.upper_kg + max(0.0, net_upper_kg), 6)


_WEIGHING_ISSUE_TEXT = {
    "tare_unknown": "container already on the platform when the frames came back (restart or link lost): "
                    "tare unknown",
    "gross_unknown": "container removed while the scale was not heard: final gross not seen",
    "no_net_mass": "container placed and removed with no net mass (tare = gross)",
    "zero_shift": "empty-platform reading moved by more than the zero band across the container "
                  "(tare keyed on an indicator that does not report net mode?)",
}


def add_zero(ev: LotEvidence, device: str, ts: datetime, value_kg: float) -> None:
    """A stable reading of the empty platform: its spread over the lot reveals zero drift."""
    _touch(ev, device, "weighing", ts)
    z = ev.zero.get(device)
    ev.zero[device] = ZeroRange(lo=value_kg, hi=value_kg) if z is None else \
        ZeroRange(lo=min(z.lo, value_kg), hi=max(z.hi, value_kg))


def _touch(ev: LotEvidence, device: str, kind: str, ts: datetime) -> None:
    t = ts.timestamp()
    act = ev.activity.get(device)
    if act is None:
        ev.activity[device] = DeviceActivity(kind=kind, n=1, first=t, last=t, max_gap_s=0.0)
        return
    act.n += 1
    if kind == "weighing":  # a scale that also reports counters or alarms is still judged as a scale
        act.kind = "weighing"
    if t > act.last:
        act.max_gap_s = max(act.max_gap_s, t - act.last)
        act.last = t
    act.first = min(act.first, t)


def _add_object(ev: LotEvidence, data: dict[str, Any]) -> None:
    polymer = str(data.get("polymer") or "").strip()
    size = data.get("size_mm")
    if polymer.lower() in UNIDENTIFIED:
        ev.unidentified += 1
        return
    s2 = float(size) ** 2 if size is not None else None
    if s2 is None or s2 <= 0:
        raise ValueError("nir_object without a size")
    sums = ev.objects.get(polymer)
    if sums is None:
        sums = ev.objects[polymer] = PolymerSums()
    sums.n += 1
    sums.s2 += s2
    sums.s4 += s2 * s2


def _add_xrf(ev: LotEvidence, data: dict[str, Any]) -> None:
    for element, reading in (data.get("elements") or {}).items():
        if not isinstance(reading, dict):
            continue
        ppm, err = reading.get("ppm"), reading.get("error")
        below = bool(reading.get("below_lod")) or ppm is None
        if below and reading.get("lod_ppm"):
            ppm = reading["lod_ppm"]  # the instrument's LOD (stated, or 3 sigma): _lod takes it as the limit
        spot = XrfSpot(ppm=float(ppm) if ppm is not None else None, error=float(err) if err is not None else None,
                       below_lod=below)
        ev.xrf.setdefault(element, []).append(spot)


def _add_conveyor(c: ConveyorSums, data: dict[str, Any]) -> None:
    count = float(data["count"])
    area = float(data.get("occupancy_pct", 0.0)) * float(data.get("interval_s", 1.0))
    dark_count = count * float(data.get("dark_count_share", 0.0))
    dark_area = area * float(data.get("dark_area_share", 0.0))
    c.count += count
    c.dark_count += dark_count
    c.area += area
    c.dark_area += dark_area
    c.intervals += 1


def _add_ident(ev: LotEvidence, data: dict[str, Any]) -> None:
    model = data.get("model")
    cands = data.get("model_candidates") or []
    if not model and cands:
        model = cands[0].get("model") if isinstance(cands[0], dict) else str(cands[0])
    if model:
        ev.models[str(model)] = ev.models.get(str(model), 0) + 1


def _add_sorter(ev: LotEvidence, data: dict[str, Any]) -> None:
    s = ev.sorter
    s.intervals += 1
    if data.get("running") is False:
        s.not_running_s += float(data.get("interval_s", 0.0))
    for alarm in data.get("alarms") or []:
        if str(alarm) not in s.alarms and len(s.alarms) < 20:
            s.alarms.append(str(alarm))


def evidence_from_readings(readings: Iterable[Mapping[str, Any]], zero_band_kg: float = 0.5) -> LotEvidence:
    """Rebuild a lot's evidence from stored reading rows (the gateway's re-computation)."""
    ev = new_evidence()
    for r in readings:
        ts = r["ts"] if isinstance(r["ts"], datetime) else datetime.fromisoformat(r["ts"])
        data = r.get("data") or {}
        if r["kind"] == "weighing":
            if r.get("status") not in (None, "ok"):  # a container whose mass is not known
                upper = data.get("net_upper_kg")
                add_weighing_issue(ev, r["device"], ts, str(data.get("reason") or r.get("status")),
                                   float(upper) if upper is not None else None)
            elif r.get("value") is not None:
                add_weighing(ev, r["device"], ts, float(r["value"]), float(data.get("tare_kg", 0.0)))
        elif r["kind"] == "weight":
            v = r.get("value")
            empty = data["empty"] if "empty" in data else (v is not None and abs(v) < zero_band_kg)  # older agents
            if v is not None and data.get("stable") and empty:
                add_zero(ev, r["device"], ts, float(v))
        else:
            add_reading(ev, r["device"], r["kind"], ts, data)
    return ev


# -- measure: evidence out -------------------------------------------------------------------------------


def measure(ev: LotEvidence, *, opened_at: datetime, closed_at: datetime,
            params: MeasurementParams | None = None) -> Measurement:
    """The lot's measurement (shape documented in docs/scenarios.md); missing data is flagged, not filled."""
    params = params or MeasurementParams()
    duration = max(0.0, (closed_at - opened_at).total_seconds())
    return Measurement(
        method=METHOD,
        net_mass_kg=round(sum(w.net_kg for w in ev.weighings), 6),
        n_weighings=len(ev.weighings),
        weighing_issues={d: {r: WeighingIssues(**e.model_dump()) for r, e in by_reason.items()}
                         for d, by_reason in ev.weighing_issues.items()},
        composition=composition(ev, params),
        contaminants=contaminants(ev, params),
        nir_blind_share=blind_share(ev),
        product_models=[ProductCount(model=m, count=c) for m, c in sorted(ev.models.items(), key=lambda x: -x[1])],
        devices=device_quality(ev, params, opened_at.timestamp(), closed_at.timestamp()),
        duration_s=round(duration, 3),
        params=params.model_copy(deep=True),
    )


def lot_thickness(polymer: str, models: dict[str, int], params: MeasurementParams
                  ) -> tuple[float, float, Literal["calibration", "product models"]]:
    """Effective wall thickness of a polymer's pieces in this lot, its relative uncertainty, and the source.

    Pieces of a part of mass M and thickness t number ~ M / t, so the mass per size^2 of the mixed pieces is
    sum M / sum (M / t) (mass-weighted harmonic mean) over the lot's identified products. The uncertainty is
    the between-product spread of t divided by the effective number of products (the unread products are
    assumed to follow the read ones).
    """
    entries = [(c, *params.model_parts[m][polymer][:2]) for m, c in models.items()
               if polymer in params.model_parts.get(m, {})]
    entries = [(c, mass, t) for c, mass, t in entries if c > 0 and mass > 0 and t > 0]
    if not entries:
        t = params.thickness_mm.get(polymer, params.default_thickness_mm)
        return t, params.thickness_rel_sd.get(polymer, 0.0), "calibration"
    w_sum = sum(c * mass for c, mass, _ in entries)
    t_eff = w_sum / sum(c * mass / t for c, mass, t in entries)
    cv2 = sum(c * mass * (t - t_eff) ** 2 for c, mass, t in entries) / w_sum / (t_eff * t_eff)
    n_eff = w_sum * w_sum / sum(c * mass * mass for c, mass, _ in entries)  # products, weighted by mass
    return t_eff, (cv2 / max(1.0, n_eff)) ** 0.5, "product models"


def piece_factor(polymer: str, params: MeasurementParams, thickness_mm: float | None = None) -> float:
    """Grams per mm^2 of size^2: density * thickness * shape factor."""
    rho = params.density_g_cm3.get(polymer, params.default_density_g_cm3)
    t = thickness_mm if thickness_mm is not None else params.thickness_mm.get(polymer, params.default_thickness_mm)
    return rho * 1e-3 * t * params.shape_factor


def composition(ev: LotEvidence, params: MeasurementParams) -> Composition:
    objects = ev.objects
    n = sum(v.n for v in objects.values())
    sums, observed, rel_sd, thick = {}, {}, {}, {}
    a_all = sum(v.s2 for v in objects.values())
    acc, err = params.nir_accuracy, (1 - params.nir_accuracy) / (params.nir_classes - 1)
    for polymer, obj in objects.items():
        k, a1, a2 = obj.n, obj.s2, obj.s4
        t, u, src = lot_thickness(polymer, ev.models, params)
        f = piece_factor(polymer, params, t)
        # Rogan-Gladen on the size^2 sums, before the polymer's mass factor: a misread piece carries the
        # wrong density and thickness, so correcting the mass shares afterwards would leave a bias.
        a1c = max(0.0, (a1 - err * a_all) / (acc - err))
        sums[polymer] = ShareSums(int(k), f * a1c, f * f * a2 * (a1c / a1 if a1 > 0 else 0.0))
        observed[polymer] = ShareSums(int(k), f * a1, f * f * a2)
        rel_sd[polymer] = (u * u + params.factor_rel_sd ** 2) ** 0.5
        thick[polymer] = Thickness(mm=round(t, 4), rel_sd=round(rel_sd[polymer], 5), source=src)
    total = ShareSums(n, sum(s.s1 for s in sums.values()), sum(s.s2 for s in sums.values()))
    total_obs = ShareSums(n, sum(s.s1 for s in observed.values()), sum(s.s2 for s in observed.values()))
    sys_var = factor_share_var({p: s.s1 / total.s1 for p, s in sums.items()} if total.s1 > 0 else {}, rel_sd)
    by_count, by_mass = {}, {}
    fix = _misclassification(params)
    blind = blind_mass_range(ev, params)
    for polymer in sorted(sums):
        k = sums[polymer].n
        lo, hi = wilson(k, n)
        by_count[polymer] = CountShare(n=k, share=round(fix(k / n), 6) if n else 0.0, ci95=_r((fix(lo), fix(hi))),
                                       observed_share=round(k / n, 6) if n else 0.0)
        share = sums[polymer].s1 / total.s1 if total.s1 > 0 else 0.0
        # Sampling variance from the pieces actually seen (misread ones included), scaled by the correction.
        r_obs, var_obs = ratio_var(observed[polymer], total_obs, params.piece_mass_cv)
        var = var_obs / (acc - err) ** 2 + sys_var.get(polymer, 0.0)
        lo_m, hi_m = share_interval(share, r_obs, var, n)
        all_pieces = None
        if blind is not None:
            hi_all = min(1.0, hi_m * (1 - blind[0]) + blind[1])
            all_pieces = _r((lo_m * (1 - blind[1]), hi_all))
        by_mass[polymer] = MassShare(share=round(share, 6), ci95=_r((lo_m, hi_m)),
                                     est_mass_g=round(sums[polymer].s1, 3), ci95_all_pieces=all_pieces)
    return Composition(
        n_objects=n,
        n_unidentified=ev.unidentified,
        model_not_fit=dict(sorted(ev.nir_model_not_fit.items())) or None,
        scope="NIR-identified pieces of the output stream; NIR-blind pieces are in nir_blind_share",
        mass_method=("piece mass = density x thickness x shape_factor x size^2; thickness per polymer weighted "
                     "by the lot's identified product models (params.model_parts) or calibrated; ratio "
                     "estimator, CI: linearisation variance (x (1 + piece_mass_cv^2)) plus delta-method "
                     "variance of the thickness/density calibration, Wilson at effective n"),
        thickness=thick,
        blind_mass_share_range=_r(blind) if blind is not None else None,
        all_pieces_method=("ci95_all_pieces bounds each polymer's share of ALL pieces, NIR-blind included: "
                           "[lo x (1 - b_hi), hi x (1 - b_lo) + b_hi], b = camera dark area share x/÷ "
                           "params.blind_mass_factor; absent when the camera saw nothing"),
        count_method="Wilson score interval",
        misclassification=("Rogan-Gladen correction for the output NIR's accuracy (params.nir_accuracy, errors "
                           "spread evenly over params.nir_classes - 1 classes): by_count maps share and bounds, "
                           "by_mass corrects each polymer's size^2 sum before its mass factor"),
        unobserved_ci95_upper=round(wilson(0, n)[1], 6) if n else 1.0,
        by_count=by_count,
        by_mass=by_mass,
    )


def blind_mass_range(ev: LotEvidence, params: MeasurementParams) -> tuple[float, float] | None:
    """Range of the NIR-blind pieces' mass share: the camera's dark area share, its mass per area unknown."""
    c = ev.conveyor
    if not c.intervals or c.area <= 0:
        return None
    b = c.dark_area / c.area
    return (b / params.blind_mass_factor, min(1.0, b * params.blind_mass_factor))


def _misclassification(params: MeasurementParams) -> Callable[[float], float]:
    """p_true = (p_obs - e) / (a - e), e = (1 - a) / (K - 1): monotone, so bounds map to bounds."""
    a = params.nir_accuracy
    e = (1 - a) / (params.nir_classes - 1)

    def fix(p: float) -> float:
        return min(1.0, max(0.0, (p - e) / (a - e)))

    return fix


def _lod(element: str, ppm: float | None, err: float | None, params: MeasurementParams) -> float:
    if ppm is not None and ppm > 0:
        return ppm  # some exports give the LOD itself with the '<LOD' flag
    if err is not None and err > 0:
        return params.lod_error_multiple * err
    return params.default_lod_ppm.get(element, 10.0)


def contaminants(ev: LotEvidence, params: MeasurementParams) -> dict[str, Contaminant]:
    out: dict[str, Contaminant] = {}
    elements = list(dict.fromkeys([*ELEMENTS, *ev.xrf]))
    for element in elements:
        spots = ev.xrf.get(element, [])
        if not spots and element not in params.thresholds_ppm:
            continue
        values = [(_lod(element, s.ppm, s.error, params) if s.below_lod else float(s.ppm or 0.0)) for s in spots]
        cens = [s.below_lod for s in spots]
        km = km_left_censored(values, cens)
        lods = [v for v, c in zip(values, cens, strict=True) if c]
        ci_of_mean = None
        if km.n and km.mean is not None:
            lo, hi = mean_ci(km.mean, km.sd, km.n)
            ci_of_mean = (round(lo, 1), round(hi, 1) if hi != float("inf") else None)
        thresholds = {}
        worst = sum(values) / len(values) if values else 0.0  # every "<LOD" at its LOD
        best = sum(v for v, c in zip(values, cens, strict=True) if not c) / len(values) if values else 0.0
        for threshold in params.thresholds_ppm.get(element, []):
            frac = km_fraction_above(values, cens, threshold)
            thresholds[f"{threshold:g}"] = ThresholdResult(
                fraction_above=round(frac, 6), ci95=_r(wilson(frac * km.n, km.n)),
                mean_above=bool(km.mean is not None and km.mean > threshold),
                **threshold_decision(km.mean, km.sd, km.n, threshold, (best, worst)))
        out[element] = Contaminant(
            n=km.n, n_below_lod=km.n_censored,
            mean_ppm=_r1(km.mean), p95_ppm=_r1(km.p95), max_ppm=_r1(km.max_detected),
            lod_ppm=_r1(max(lods)) if lods else None,
            mean_bounds_ppm=_r(km.mean_bounds) if km.mean_bounds else None,
            method=("Kaplan-Meier for left-censored data (flipped; Helsel 2012); residual below the lowest "
                    "detect at 1/2 LOD, bounds 0..LOD; '<LOD' never set to 0"),
            thresholds=thresholds, mean_ci95_ppm=ci_of_mean)
    return out


def blind_share(ev: LotEvidence) -> BlindShare | None:
    c = ev.conveyor
    if not c.intervals:
        return None
    return BlindShare(by_count=round(c.dark_count / c.count, 6) if c.count else 0.0,
                      by_area=round(c.dark_area / c.area, 6) if c.area else 0.0,
                      n_objects=int(c.count), intervals=c.intervals)


def device_quality(ev: LotEvidence, params: MeasurementParams, t0: float, t1: float) -> DeviceQuality:
    """Which devices contributed, which never did, which had gaps, outages or drift during the lot."""
    activity = ev.activity
    contributed = sorted(activity)
    missing = sorted(d for d in params.expected_devices if d not in activity)
    degraded: list[Degraded] = []
    for device in contributed:
        act = activity[device]
        if act.kind == "weighing":
            continue  # a scale speaks when a container leaves; silence is not a fault
        worst = max(act.max_gap_s, act.first - t0, t1 - act.last)
        if worst > params.max_gap_by_device.get(device, params.max_gap_s):
            degraded.append(Degraded(device=device, reason=f"no readings for {worst:.0f} s during the lot"))
    sorter = ev.sorter
    for device in contributed:
        if activity[device].kind == "nir_counts" and sorter.not_running_s > 0:
            degraded.append(Degraded(device=device, reason=f"sorter not running for {sorter.not_running_s:.0f} s"))
        if activity[device].kind == "nir_counts" and sorter.alarms:
            degraded.append(Degraded(device=device, reason="alarms: " + ", ".join(sorter.alarms[:5])))
    for device, z in sorted(ev.zero.items()):
        if z.hi - z.lo > params.zero_drift_kg:
            degraded.append(Degraded(device=device, reason=f"empty-scale reading moved {z.hi - z.lo:.3f} kg during "
                                                           "the lot (zero drift)"))
    for device, n in sorted(ev.nir_model_not_fit.items()):
        degraded.append(Degraded(device=device, reason=f"model_not_fit: {n} NIR classifications from a model whose "
                                                       "card marks it not fit for sorting"))
    for device, by_reason in sorted(ev.weighing_issues.items()):
        for reason, e in sorted(by_reason.items()):
            bound = "no upper bound" if e.unbounded else f"at most {e.upper_kg:.3f} kg"
            degraded.append(Degraded(device=device, reason=f"{e.count} weighing(s) not in the lot mass ({bound}): "
                                                           f"{_WEIGHING_ISSUE_TEXT.get(reason, reason)}"))
    for device, events in sorted(ev.source_events.items()):
        for what, n in sorted(events.items()):
            degraded.append(Degraded(device=device, reason=f"{what} ({n}x during the lot)"))
    for step in ev.clock_steps_s:
        degraded.append(Degraded(device="*", reason=f"clock_step: the wall clock jumped by {step:+.0f} s during "
                                                    "the lot; its open time was shifted, reading times may be off"))
    if ev.clock_unsynced:
        degraded.append(Degraded(device="*", reason="clock_unsynced: the agent's clock was not NTP synchronised "
                                                    "during the lot; reading times may be off"))
    if ev.bad_readings:
        degraded.append(Degraded(device="*", reason=f"{ev.bad_readings} readings could not be used"))
    return DeviceQuality(contributed=contributed, missing=missing, degraded=degraded)


def _r(pair: tuple[float, float] | list[float]) -> tuple[float, float]:
    return (round(pair[0], 6), round(pair[1], 6))


def _r1(x: float | None) -> float | None:
    return None if x is None else round(x, 1)
