"""What an open lot keeps of its readings: the sufficient statistics ``measure`` needs, with named fields.

The agent persists this beside its outbox (``OpenLot.to_state``) and the gateway rebuilds it from stored
readings, so it must survive restarts and upgrades. Release 1 stored it with positional lists
(``objects: {p: [n, Σs², Σs⁴]}``, ``conveyor: [count, dark_count, area, dark_area, intervals]``, ``xrf``
entries ``[ppm, error, below_lod]``, ``zero: [lo, hi]``, ``weighings: [net, tare]``); ``v: 1`` documents
are read and upgraded on load, documents are written as ``v: 2``.

Mutable on purpose (it is folded reading by reading, thousands per lot); the documents built from it
(``Measurement``, ``Evidence``) are frozen.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Acc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PolymerSums(_Acc):
    """Pieces of one polymer seen by the output NIR: count and the two size moments."""

    n: int = Field(default=0, ge=0, description="Identified pieces.")
    s2: float = Field(default=0.0, ge=0, description="Sum of size_mm^2 (proportional to mass).")
    s4: float = Field(default=0.0, ge=0, description="Sum of size_mm^4 (for the ratio variance).")


class XrfSpot(_Acc):
    """One XRF result of one element; ``ppm`` may be the LOD itself when ``below_lod``."""

    ppm: float | None = Field(description="Reported concentration (or LOD), mg/kg.")
    error: float | None = Field(description="1-sigma error, mg/kg.")
    below_lod: bool = Field(description="Reported as '<LOD'.")


class ConveyorSums(_Acc):
    """Camera over the output stream: objects and occupied area, total and NIR-blind (dark)."""

    count: float = Field(default=0.0, description="Objects counted.")
    dark_count: float = Field(default=0.0, description="Of which dark (NIR-blind).")
    area: float = Field(default=0.0, description="Occupancy % x seconds.")
    dark_area: float = Field(default=0.0, description="Of which dark.")
    intervals: int = Field(default=0, ge=0, description="Camera intervals folded in.")


class SorterState(_Acc):
    """The NIR sorter's own counters: whether it ran and which alarms it raised."""

    intervals: int = Field(default=0, ge=0, description="Counter intervals received.")
    not_running_s: float = Field(default=0.0, ge=0, description="Seconds reported as not running.")
    alarms: list[str] = Field(default_factory=list, description="Distinct alarms (at most 20).")


class DeviceActivity(_Acc):
    """When a device spoke during the lot (epoch seconds), for the data-quality section."""

    kind: str = Field(description="Kind of its first reading.")
    n: int = Field(ge=0, description="Readings.")
    first: float = Field(description="Earliest reading (epoch s).")
    last: float = Field(description="Latest reading (epoch s).")
    max_gap_s: float = Field(ge=0, description="Longest silence between two readings.")


class ZeroRange(_Acc):
    """Lowest and highest stable empty-platform reading of a scale during the lot."""

    lo: float = Field(description="kg")
    hi: float = Field(description="kg")


class ContainerWeighing(_Acc):
    """One completed container weighing."""

    net_kg: float = Field(description="Net mass (gross - tare - zero drift during the fill).")
    tare_kg: float = Field(description="Tare of the container.")


class WeighingIssueSums(_Acc):
    """Containers of one scale whose mass is not known, for one reason (kept out of the lot's mass)."""

    count: int = Field(default=0, ge=0, description="Such weighings.")
    upper_kg: float = Field(default=0.0, ge=0, description="Sum of their known upper bounds (gross - zero).")
    unbounded: int = Field(default=0, ge=0, description="Those with no upper bound known.")


class LotEvidence(_Acc):
    """The lot's folded readings (``junkan.core.measurement.add_*``); ``measure`` turns it into a Measurement."""

    v: Literal[2] = Field(default=2, description="Layout version; 1 (positional lists) is upgraded on load.")
    objects: dict[str, PolymerSums] = Field(default_factory=dict, description="Per polymer.")
    unidentified: int = Field(default=0, ge=0, description="Pieces the NIR could not identify.")
    xrf: dict[str, list[XrfSpot]] = Field(default_factory=dict, description="Per element.")
    conveyor: ConveyorSums = Field(default_factory=ConveyorSums, description="Output camera.")
    models: dict[str, int] = Field(default_factory=dict, description="Identified product models: count.")
    sorter: SorterState = Field(default_factory=SorterState, description="Sorter counters.")
    activity: dict[str, DeviceActivity] = Field(default_factory=dict, description="Per device.")
    zero: dict[str, ZeroRange] = Field(default_factory=dict, description="Per scale.")
    weighings: list[ContainerWeighing] = Field(default_factory=list, description="In order.")
    bad_readings: int = Field(default=0, ge=0, description="Readings that could not be used.")
    nir_model_not_fit: dict[str, int] = Field(
        default_factory=dict, exclude_if=lambda v: not v,
        description="Per NIR device: classifications whose model card marks the model not fit for sorting.")
    weighing_issues: dict[str, dict[str, WeighingIssueSums]] = Field(
        default_factory=dict, exclude_if=lambda v: not v,
        description="Per scale, per reason (tare_unknown, gross_unknown, no_net_mass).")
    source_events: dict[str, dict[str, int]] = Field(
        default_factory=dict, exclude_if=lambda v: not v,
        description="Per device: source events (offline, sequence gaps), counter resets, active alarms, counted.")
    clock_steps_s: list[float] = Field(default_factory=list, exclude_if=lambda v: not v,
                                       description="Wall-clock steps (s) during the lot; held times were shifted.")
    clock_unsynced: bool = Field(default=False, exclude_if=lambda v: not v,
                                 description="The clock was not NTP synchronised at some point during the lot.")

    @model_validator(mode="before")
    @classmethod
    def _upgrade_v1(cls, data: Any) -> Any:
        """Read release 1's positional layout (stored open lots, agent outboxes)."""
        if not isinstance(data, dict) or data.get("v", 1) != 1:
            return data
        out = dict(data, v=2)
        out["objects"] = {p: dict(zip(("n", "s2", "s4"), v, strict=True)) if isinstance(v, list) else v
                          for p, v in (data.get("objects") or {}).items()}
        out["xrf"] = {e: [dict(zip(("ppm", "error", "below_lod"), s, strict=True)) if isinstance(s, list) else s
                          for s in spots] for e, spots in (data.get("xrf") or {}).items()}
        if isinstance(c := data.get("conveyor"), list):
            out["conveyor"] = dict(zip(("count", "dark_count", "area", "dark_area", "intervals"), c, strict=True))
        out["zero"] = {d: dict(zip(("lo", "hi"), z, strict=True)) if isinstance(z, list) else z
                       for d, z in (data.get("zero") or {}).items()}
        out["weighings"] = [dict(zip(("net_kg", "tare_kg"), w, strict=True)) if isinstance(w, list) else w
                            for w in data.get("weighings") or []]
        return out
