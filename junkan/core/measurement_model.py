"""The lot measurement document (``junkan.measurement/1``): what ``measure`` returns and ``LotSummary`` carries.

Frozen and typed so the agent, the gateway store, every exporter and the dashboard read one shape. The
wire form is exactly what release 1 sent as a plain dict (tests/core/test_measurement_model.py compares
them); keys release 1 left out when empty (``ci95_all_pieces``, ``mean_ci95_ppm``) are still left out.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, TypeAdapter, ValidationError

METHOD: Literal["junkan.measurement/1"] = "junkan.measurement/1"

Interval = Annotated[tuple[float, float], Field(description="95 % interval [low, high].")]


class MeasurementParams(BaseModel):
    """Calibration and rules of the lot measurement; embedded in each result so it can be re-computed."""

    model_config = ConfigDict(extra="forbid")

    density_g_cm3: dict[str, float] = Field(
        default_factory=lambda: {"PP": 0.905, "PE": 0.95, "PS": 1.05, "HIPS": 1.04, "ABS": 1.05, "PC": 1.20,
                                 "PC/ABS": 1.15, "PVC": 1.38, "PA": 1.14, "PET": 1.38, "EPDM": 0.86,
                                 "PMMA": 1.18, "POM": 1.41, "PU": 1.20},
        description="Density per polymer (g/cm3) used to turn piece size into mass.")
    default_density_g_cm3: float = Field(default=1.05, gt=0, description="Density of polymers not listed.")
    thickness_mm: dict[str, float] = Field(default_factory=dict,
                                           description="Mean flake thickness per polymer (mm), from calibration.")
    default_thickness_mm: float = Field(default=2.5, gt=0, description="Thickness of polymers not listed (mm).")
    shape_factor: float = Field(default=0.7, gt=0, le=1,
                                description="Projected area / size^2 of a flake (size = longest side).")
    model_parts: dict[str, dict[str, list[float]]] = Field(
        default_factory=dict,
        description=("Per product model: polymer -> [NIR-visible part mass kg, wall thickness mm], from the "
                     "products' material data. The lot's identified models then weight the thickness per "
                     "polymer (mixed batches, e.g. 2.8 mm CRT vs 2.2 mm LCD back covers)."))
    thickness_rel_sd: dict[str, float] = Field(
        default_factory=dict,
        description="Relative spread of the calibrated thickness per polymer when no product model is read.")
    factor_rel_sd: float = Field(default=0.02, ge=0,
                                 description="Relative error of each polymer's density x shape calibration.")
    blind_mass_factor: float = Field(default=1.5, ge=1,
                                     description="Bound on the mass per area of NIR-blind pieces relative to "
                                                 "identified ones (turns the camera's dark area share into a "
                                                 "mass share range).")
    piece_mass_cv: float = Field(default=0.15, ge=0,
                                 description="Relative scatter of a piece's mass around density x thickness x "
                                             "shape x size^2 (thickness and outline vary per flake).")
    thresholds_ppm: dict[str, list[float]] = Field(
        default_factory=lambda: {"Br": [2000.0], "Cd": [100.0], "Pb": [1000.0], "Hg": [1000.0], "Cr": [1000.0]},
        description="Per element: concentrations whose exceedance is reported (RoHS, EN 50625 Br screen).")
    default_lod_ppm: dict[str, float] = Field(
        default_factory=lambda: {"Br": 5.0, "Cd": 10.0, "Pb": 10.0, "Hg": 10.0, "Cr": 20.0},
        description="LOD used for a '<LOD' reading that carries neither a LOD nor an error.")
    lod_error_multiple: float = Field(default=3.0, gt=0,
                                      description="LOD = this x the 1-sigma error when a '<LOD' reading has one.")
    nir_accuracy: float = Field(default=1.0, gt=0.5, le=1,
                                description="Output NIR: probability of the right class (from its validation).")
    nir_classes: int = Field(default=2, ge=2, description="Classes in the output NIR's library (for the correction).")
    expected_devices: dict[str, str] = Field(default_factory=dict,
                                             description="Devices that should contribute to a lot: name -> kind.")
    max_gap_s: float = Field(default=15.0, gt=0, description="A device silent this long during a lot is degraded.")
    max_gap_by_device: dict[str, float] = Field(
        default_factory=dict, description="Per-device silence limit (s) overriding max_gap_s, for devices that "
                                          "speak sparsely by design, e.g. XRF spot checks.")
    zero_drift_kg: float = Field(default=0.1, gt=0,
                                 description="Empty-scale readings spreading more than this flag zero drift.")


def _absent(value: Any) -> bool:
    return value is None


def _empty(value: Any) -> bool:
    return not value


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Thickness(_Doc):
    """Wall thickness used for one polymer's piece masses."""

    mm: float = Field(description="Effective thickness (mm).")
    rel_sd: float = Field(ge=0, description="Relative uncertainty (thickness and density/shape calibration).")
    source: Literal["calibration", "product models"] = Field(description="Where the thickness came from.")


class CountShare(_Doc):
    """Share of one polymer by piece count (corrected for NIR misreads)."""

    n: int = Field(ge=0, description="Pieces identified as this polymer.")
    share: float = Field(ge=0, le=1, description="Corrected count share.")
    ci95: Interval
    observed_share: float = Field(ge=0, le=1, description="Share as read, before the correction.")


class MassShare(_Doc):
    """Share of one polymer by estimated mass."""

    share: float = Field(ge=0, le=1, description="Mass share among NIR-identified pieces.")
    ci95: Interval
    est_mass_g: float = Field(description="Estimated mass of the identified pieces (g).")
    ci95_all_pieces: Interval | None = Field(
        default=None, exclude_if=_absent,
        description="Bounds of the share of ALL pieces (NIR-blind included); absent without camera data.")


class Composition(_Doc):
    """Polymer composition of the output stream, by count and by mass, with their methods."""

    n_objects: int = Field(ge=0, description="NIR-identified pieces.")
    n_unidentified: int = Field(ge=0, description="Pieces the NIR could not identify.")
    model_not_fit: dict[str, int] | None = Field(
        default=None, exclude_if=_absent,
        description="Per NIR device: pieces classified by a model whose card marks it not fit for sorting "
                    "(the lot is flagged in devices.degraded); absent when none.")
    scope: str = Field(description="What the shares are shares of.")
    mass_method: str = Field(description="How piece masses and the mass CI are computed.")
    thickness: dict[str, Thickness] = Field(description="Per polymer.")
    blind_mass_share_range: Interval | None = Field(description="Mass share range of NIR-blind pieces.")
    all_pieces_method: str = Field(description="How ci95_all_pieces is bounded.")
    count_method: str = Field(description="Interval method of by_count.")
    misclassification: str = Field(description="How NIR misreads are corrected.")
    unobserved_ci95_upper: float = Field(description="Upper bound of the share of a polymer never seen.")
    by_count: dict[str, CountShare] = Field(description="Per polymer.")
    by_mass: dict[str, MassShare] = Field(description="Per polymer.")


class ThresholdResult(_Doc):
    """One element against one limit."""

    fraction_above: float = Field(ge=0, le=1, description="Share of readings above the limit.")
    ci95: Interval
    mean_above: bool = Field(description="Lot mean above the limit.")
    flag: bool = Field(description="Decision: P(mean > limit) > 0.5 (or no data).")
    status: Literal["above", "below", "indeterminate", "no_data"] = Field(description="95 % CI vs the limit.")
    p_above: float | None = Field(description="P(true mean > limit); null without data.")
    precautionary_flag: bool = Field(description="One-sided 95 % upper bound above the limit.")
    flag_rule: str = Field(description="The rule, in words.")


class Contaminant(_Doc):
    """One element's XRF screening over the lot ('<LOD' readings kept censored, never set to 0)."""

    n: int = Field(ge=0, description="Readings.")
    n_below_lod: int = Field(ge=0, description="Of which '<LOD'.")
    mean_ppm: float | None = Field(description="Kaplan-Meier mean (mg/kg).")
    p95_ppm: float | None = Field(description="95th percentile; null when itself below a LOD.")
    max_ppm: float | None = Field(description="Highest detect.")
    lod_ppm: float | None = Field(description="Highest LOD among '<LOD' readings.")
    mean_bounds_ppm: Interval | None = Field(description="Mean with the residual at 0 / at the LOD.")
    method: str = Field(description="Estimator, in words.")
    thresholds: dict[str, ThresholdResult] = Field(description="Per limit (ppm, formatted %g).")
    mean_ci95_ppm: tuple[float, float | None] | None = Field(
        default=None, exclude_if=_absent, description="95 % CI of the mean (upper null = unbounded); absent "
                                                      "without readings.")


class BlindShare(_Doc):
    """What the output camera saw that the NIR cannot see (dark pieces)."""

    by_count: float = Field(ge=0, le=1, description="Dark share of objects.")
    by_area: float = Field(ge=0, le=1, description="Dark share of occupied area.")
    n_objects: int = Field(ge=0, description="Objects counted.")
    intervals: int = Field(ge=0, description="Camera intervals.")


class ProductCount(_Doc):
    model: str = Field(description="Product model read at dismantling.")
    count: int = Field(ge=0, description="Times read during the lot.")


class WeighingIssues(_Doc):
    """Containers whose mass is not known (not in ``net_mass_kg``): count and the most they can weigh."""

    count: int = Field(ge=0, description="Such weighings.")
    upper_kg: float = Field(ge=0, description="Sum of their known upper bounds (gross - zero).")
    unbounded: int = Field(ge=0, description="Those with no upper bound known.")


class Degraded(_Doc):
    device: str = Field(description="Device name, or '*' for the lot as a whole.")
    reason: str = Field(description="What was wrong, in words.")


class DeviceQuality(_Doc):
    """Which devices contributed, which never did, which had gaps, outages or drift."""

    contributed: list[str] = Field(description="Devices with readings in the lot.")
    missing: list[str] = Field(description="Expected devices without any.")
    degraded: list[Degraded] = Field(description="Contributed devices whose data is impaired.")


class Measurement(_Doc):
    """A closed lot's measurement: mass, composition with CIs, contaminants with censoring, data quality."""

    method: Literal["junkan.measurement/1"] = Field(default=METHOD, description="Schema and method version.")
    net_mass_kg: float = Field(allow_inf_nan=False, description="Sum of the container weighings.")
    n_weighings: int = Field(ge=0, description="Container weighings.")
    weighing_issues: dict[str, dict[str, WeighingIssues]] = Field(
        default_factory=dict, exclude_if=_empty,
        description="Per scale, per reason: containers whose mass is NOT in net_mass_kg (tare_unknown after a "
                    "restart or link loss, gross_unknown, no_net_mass); the lot is flagged degraded too.")
    composition: Composition
    contaminants: dict[str, Contaminant] = Field(description="Per element.")
    nir_blind_share: BlindShare | None = Field(description="Null without camera data.")
    product_models: list[ProductCount] = Field(description="Most read first.")
    devices: DeviceQuality
    duration_s: float = Field(ge=0, description="Lot duration.")
    params: MeasurementParams = Field(description="Calibration used (the lot can be re-computed with it).")
    recomputed: bool | None = Field(default=None, exclude_if=_absent,
                                    description="True when re-computed by the gateway from stored readings.")


class MeasurementFailure(_Doc):
    """What the agent sends when its measurement raised: the lot still closes, the error is reported."""

    method: Literal["junkan.measurement/1"] = Field(default=METHOD, description="Schema and method version.")
    error: str = Field(description="The exception, as repr().")


class LiveMass(_Doc):
    """An open lot's progress (status messages) or nothing yet (lot opened): ``{}`` on the wire when empty."""

    live_mass_kg: float | None = Field(default=None, exclude_if=_absent, allow_inf_nan=False,
                                       description="Weighed mass plus what is on the scale now.")


def _kind(value: Any) -> str:
    if isinstance(value, BaseModel):
        return {Measurement: "measurement", MeasurementFailure: "failure"}.get(type(value), "live")
    if isinstance(value, dict) and "error" in value:
        return "failure"
    return "measurement" if isinstance(value, dict) and "composition" in value else "live"


LotMeasurement = Annotated[
    Annotated[Measurement, Tag("measurement")] | Annotated[MeasurementFailure, Tag("failure")]
    | Annotated[LiveMass, Tag("live")],
    Discriminator(_kind),
]
"""``LotSummary.measurement``: a Measurement at close, a failure at close, or progress/nothing while open."""

_lot_measurement: TypeAdapter[Measurement | MeasurementFailure | LiveMass] = TypeAdapter(LotMeasurement)


def parse_lot_measurement(raw: object) -> Measurement | MeasurementFailure | LiveMass:
    """A stored lot's measurement JSON (or model) as its typed form; ValidationError when it is neither."""
    return _lot_measurement.validate_python({} if raw is None else raw)


def read_measurement(raw: object) -> Measurement | None:
    """The Measurement of a stored lot; None when the lot has none (open, or the agent's measurement failed)."""
    parsed = parse_lot_measurement(raw)
    return parsed if isinstance(parsed, Measurement) else None


def readable_measurement(raw: object) -> Measurement | None:
    """Like ``read_measurement``, but None for a document that is not ``junkan.measurement/1`` either.

    For views that show what they can (the dashboard); the evidence says why in its data_gaps instead.
    """
    try:
        return read_measurement(raw)
    except ValidationError:
        return None
