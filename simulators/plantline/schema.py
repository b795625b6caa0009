"""The scenario file (``simulators/scenarios/<name>.yaml``), validated once by pydantic.

A line end to end: incoming products (category, models, plastic parts with polymer, thickness, colour and
contaminants), hand dismantling, shredding into flakes, an NIR sorter with a confusion matrix ejecting a
target polymer into the output chute, and the sensors that observe the output: a QC NIR on the output
belt (a sample of pieces), an XRF spot-checking pieces, a camera over the belt, an ident camera at
dismantling and the platform scale under the output container.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ElementSpec(_M):
    p: float = Field(default=0.0, ge=0, le=1, description="Probability that a part unit carries the additive.")
    ppm: tuple[float, float] = Field(default=(0.0, 0.0), description="Uniform range (ppm) when it does.")
    background: tuple[float, float] = Field(default=(0.0, 0.0), description="Uniform range (ppm) otherwise.")


class PartSpec(_M):
    part: str = Field(description="Part name (tub, back cover, bumper ...).")
    polymer: str = Field(description="Polymer of the part (PP, ABS, HIPS, PC/ABS, EPDM ...).")
    mass_kg: tuple[float, float] = Field(description="Uniform range of the part mass (kg).")
    thickness_mm: float = Field(default=2.5, gt=0, description="Wall thickness (mm); flakes keep it.")
    dark_prob: float = Field(default=0.0, ge=0, le=1, description="Probability the part is black (NIR-blind).")
    elements: dict[str, ElementSpec] = Field(default_factory=dict, description="Contaminants by element.")


class ProductSpec(_M):
    category: str = Field(description="washing_machine, crt_tv, lcd_tv, car ...")
    models: list[str] = Field(min_length=1, description="Model numbers (drawn uniformly).")
    mass_kg: tuple[float, float] = Field(description="Uniform range of the product mass (kg).")
    dismantled_share: float = Field(default=0.3, ge=0, le=1,
                                    description="Mass share removed by hand and weighed at dismantling.")
    parts: list[PartSpec] = Field(min_length=1, description="Plastic parts that go to the shredder.")


class BatchSpec(_M):
    weight: float = Field(default=1.0, gt=0, description="Relative probability that a lot is of this batch.")
    products: dict[str, float] = Field(description="Product category -> share of units in the batch.")


class SorterSpec(_M):
    target: list[str] = Field(min_length=1, description="Polymers ejected into the output chute.")
    accuracy: float = Field(default=0.96, gt=0, le=1, description="Probability a visible flake is classified right.")
    confusion: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="Per true polymer, detected polymer -> probability (overrides accuracy).")
    ejection_efficiency: float = Field(default=0.93, gt=0, le=1, description="Share of target detections ejected.")
    co_ejection: float = Field(default=0.01, ge=0, le=1,
                               description="Share of other flakes (incl. black) carried along by a neighbour's jet.")
    polymers: list[str] = Field(default_factory=list, description="Classes the sorter knows (default: all seen).")


class SensorSpec(_M):
    qc_observe_share: float = Field(default=0.002, gt=0, le=1,
                                    description="Share of output flakes the QC NIR sees (partial belt width).")
    qc_accuracy: float = Field(default=0.995, gt=0, le=1, description="QC NIR: probability of the right class.")
    xrf_per_container: int = Field(default=20, ge=0, description="Flakes spot-checked by XRF per container.")
    xrf_rel_error: float = Field(default=0.04, ge=0, description="XRF 1-sigma relative error.")
    xrf_lod_ppm: dict[str, float] = Field(
        default_factory=lambda: {"Br": 3.0, "Cd": 8.0, "Pb": 6.0, "Hg": 5.0, "Cr": 15.0},
        description="XRF detection limits (ppm).")
    camera_interval_s: float = Field(default=2.0, gt=0, description="Camera conveyor summary period (scenario s).")
    ident_read_rate: float = Field(default=0.85, ge=0, le=1, description="Share of products whose model is read.")


class LotSpec(_M):
    containers: tuple[int, int] = Field(default=(2, 2), description="Containers per lot (uniform range).")
    fill_kg: tuple[float, float] = Field(default=(80.0, 160.0), description="Output mass per container (kg).")
    tare_kg: tuple[float, float] = Field(default=(28.0, 36.0), description="Empty container mass (kg).")
    fill_s: float = Field(default=6.0, gt=0, description="Filling time of one container (scenario s).")


class ClockStepSpec(_M):
    at: float = Field(ge=0, description="When (scenario s).")
    by_s: float = Field(description="How far the agent's wall clock jumps (s; negative: back).")


class FaultSpec(_M):
    scale_drift_kg_per_s: float = Field(default=0.0, description="Zero drift of the output scale.")
    nir_outage: tuple[float, float] | None = Field(default=None,
                                                   description="QC NIR + sorter outage [start, end] (run s).")
    camera_blackout: tuple[float, float] | None = Field(default=None, description="Camera blackout (run s).")
    broker_restart_at: float | None = Field(default=None, description="Restart the broker at this run time (s).")
    # Adversity (issue 15): every time is in scenario seconds, like broker_restart_at, so it scales with speed.
    agent_restart_at: list[float] = Field(default_factory=list,
                                          description="SIGKILL the agent at these times and start it again.")
    scale_unplug: list[tuple[float, float]] = Field(
        default_factory=list, description="[start, end] windows in which the scale's serial link is gone.")
    tare_key_share: float = Field(default=0.0, ge=0, le=1,
                                  description="Share of containers the operator tares on the indicator (net mode).")
    plc_reset_at: list[float] = Field(default_factory=list, description="The sorter PLC restarts at these times.")
    plc_counter_start: int = Field(default=0, ge=0, lt=2**32,
                                   description="Where the PLC's 32-bit counters start at boot (near 2^31 allowed).")
    clock_step: list[ClockStepSpec] = Field(default_factory=list, description="The agent's wall clock jumps.")
    cpu_hog: list[tuple[float, float, int]] = Field(
        default_factory=list, description="[start, end, n_processes]: busy processes compete for the CPU.")
    scale_restart_at: list[float] = Field(
        default_factory=list, description="The scale source restarts at these times (OPC UA server, ESPHome node "
        "reboot, Sparkplug B edge node killed (NDEATH) and reborn with bdSeq+1; the MT-SICS balance: its serial "
        "link drops as in scale_unplug for 2 s).")
    xrf_zero_nondetects: bool = Field(default=False, description="The XRF export prints non-detects as 0 with an "
                                      "error, as real Vanta exports do (else <LOD).")


class Scenario(_M):
    name: str = Field(description="Scenario name (file stem).")
    description: str = Field(default="", description="What the line is.")
    line: str = Field(default="line-1", description="Line id (topics, lot ids).")
    flake_size_mm: tuple[float, float] = Field(default=(24.0, 0.35),
                                               description="Shredder output: lognormal median (mm) and sigma.")
    products: list[ProductSpec] = Field(min_length=1, description="Incoming products.")
    batches: list[BatchSpec] = Field(min_length=1, description="Lot-level input mixes (one drawn per lot).")
    sorter: SorterSpec = Field(description="The NIR sorter feeding the output chute.")
    sensors: SensorSpec = Field(default_factory=SensorSpec, description="Sensors on the output stream.")
    lots: LotSpec = Field(default_factory=LotSpec, description="Output containers and lots.")
    faults: FaultSpec = Field(default_factory=FaultSpec, description="Injected faults.")
    speed: float = Field(default=1.0, gt=0, description="Time compression of the run.")
    scale_source: Literal["mt_sics", "opcua", "esphome_mqtt", "sparkplug_b"] = Field(
        default="mt_sics", description="How the output scale reaches the agent in live runs: an MT-SICS balance on a "
        "serial PTY, an OPC UA server, an ESPHome HX711 node over MQTT, or a Sparkplug B edge node (pysparkplug, "
        "in .venv-sparkplug) over MQTT (simulators/plantline/scale_sources.py).")

    @model_validator(mode="after")
    def _tare_key_needs_a_protocol_that_says_net(self) -> Scenario:
        if self.faults.tare_key_share > 0 and self.scale_source != "mt_sics":
            raise ValueError("faults.tare_key_share needs scale_source mt_sics (the simulated OPC UA, ESPHome and "
                             "Sparkplug B scales have no net/gross indication)")
        return self

    @model_validator(mode="after")
    def _known_categories(self) -> Scenario:
        known = {p.category for p in self.products}
        for b in self.batches:
            unknown = set(b.products) - known
            if unknown:
                raise ValueError(f"batch uses unknown product categories {sorted(unknown)}")
        return self


def load_scenario(name_or_path: str) -> Scenario:
    """Load by name (``simulators/scenarios/<name>.yaml``) or by path; errors name the file and key."""
    path = Path(name_or_path)
    if not path.suffix:
        path = SCENARIO_DIR / f"{name_or_path}.yaml"
    if not path.exists():
        names = sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))
        raise ValueError(f"no scenario {name_or_path!r}; known: {', '.join(names)}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Scenario.model_validate(raw)
    except (yaml.YAMLError, ValidationError) as exc:
        raise ValueError(f"{path}: invalid scenario: {exc}") from None
