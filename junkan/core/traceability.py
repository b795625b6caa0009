"""What callers send to record the process graph: intake lots and transformation steps (validated)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from junkan.core.names import ID_PATTERN
from junkan.core.strict import STRICT, IsoDatetime, JsonInt

_ID = ID_PATTERN
DEFAULT_TOLERANCE = 0.02


class _Model(BaseModel):
    model_config = STRICT


# What an output lot is for the recycled-content report: only ``product`` outputs are supplied material.
OutputRole = Literal["product", "reject", "residue", "loss"]
OUTPUT_ROLES: tuple[str, ...] = ("product", "reject", "residue", "loss")


class Flow(_Model):
    lot_id: str = Field(pattern=_ID, description="Lot entering or leaving the step.")
    mass_kg: float = Field(ge=0, le=1e9, allow_inf_nan=False,
                           description="Weighed mass of this lot in this step (kg).")
    role: OutputRole | None = Field(
        default=None, description="Outputs only: product (the material made), reject (sorted out), residue "
        "(by-products such as metals or removed parts) or loss (disposed of). Absent on records written before "
        "roles existed: read as an output like any other and reported as role unknown.")


class Loss(_Model):
    kind: str = Field(min_length=1, max_length=64, description="What was lost: dust, moisture, residue, ...")
    mass_kg: float = Field(ge=0, le=1e9, allow_inf_nan=False,
                           description="Weighed or declared mass of the loss (kg).")
    weighed: bool = Field(default=True, description="True if weighed, False if estimated.")


class StepIn(_Model):
    """One transformation: input lots become output lots; declared losses close the balance."""

    step_id: str | None = Field(default=None, pattern=_ID, description="Unique id; generated if missing. "
                                "Recording the same id again replaces the step.")
    kind: Literal["dismantling", "shredding", "sorting", "regeneration", "blending", "other"] = Field(
        description="Process step type.")
    site: str | None = Field(default=None, max_length=128, description="Site (as in MQTT topics).")
    plant: str | None = Field(default=None, max_length=256, description="Plant operating the step (name or id).")
    started_at: IsoDatetime = Field(description="Start of the step (with time zone).")
    ended_at: IsoDatetime = Field(description="End of the step (with time zone).")
    inputs: list[Flow] = Field(min_length=1, description="Input lots with the mass each contributed.")
    outputs: list[Flow] = Field(min_length=1, description="Output lots with their weighed mass.")
    losses: list[Loss] = Field(default_factory=list, description="Declared losses (not output lots).")
    tolerance: float | None = Field(default=None, ge=0, le=0.5, description="Allowed unaccounted mass as a "
                                    "fraction of input mass; default the gateway's (0.02).")
    process_type: Literal["mechanical", "chemical", "other"] = Field(default="mechanical",
                                                                     description="Recycling route.")
    notes: str | None = Field(default=None, max_length=2000, description="Free text for the operator.")

    @model_validator(mode="after")
    def _check(self) -> StepIn:
        if self.ended_at < self.started_at:
            raise ValueError("ended_at is before started_at")
        ins, outs = [f.lot_id for f in self.inputs], [f.lot_id for f in self.outputs]
        if len(set(ins)) != len(ins) or len(set(outs)) != len(outs):
            raise ValueError("a lot is listed twice on the same side of a step")
        if any(f.role is not None for f in self.inputs):
            raise ValueError("role is for output lots only (inputs are consumed whatever they are)")
        if set(ins) & set(outs):
            raise ValueError(f"lot(s) {sorted(set(ins) & set(outs))} are both input and output of the step")
        return self


class ProductIn(_Model):
    model: str = Field(min_length=1, max_length=128, description="Model number as identified.")
    product_id: str | None = Field(default=None, max_length=256, description="Composition record id, if known.")
    n_items: JsonInt = Field(default=1, ge=1, le=10_000_000, description="How many items of this model.")
    mass_kg: float | None = Field(default=None, ge=0, le=1e9, allow_inf_nan=False,
                                  description="Weighed mass of these items (kg); else from the record.")


class IntakeIn(_Model):
    """An intake lot: end-of-life products received, by model."""

    lot_id: str = Field(pattern=_ID, description="Intake lot id (may equal a weighed line lot).")
    site: str | None = Field(default=None, max_length=128, description="Receiving site.")
    plant: str | None = Field(default=None, max_length=256, description="Receiving plant.")
    received_at: IsoDatetime = Field(description="When the lot was received.")
    source_stream: Literal["weee", "elv", "other"] = Field(description="WEEE or end-of-life vehicles.")
    consumer: Literal["post_consumer", "pre_consumer"] = Field(default="post_consumer",
                                                               description="ISO 14021 origin class.")
    net_mass_kg: float | None = Field(default=None, ge=0, le=1e9, allow_inf_nan=False,
                                      description="Weighed net mass; default the line lot's mass if stored.")
    waste_code: str | None = Field(default=None, max_length=32, description="e.g. EWC 20 01 35*.")
    supplier: str | None = Field(default=None, max_length=256, description="Who delivered the lot.")
    products: list[ProductIn] = Field(default_factory=list, description="Products in the lot by model.")


class RecycledUseIn(_Model):
    """A manufacturer received a recycled lot and used (part of) it in products of one category: the use
    side of the revised 資源法 report (recycled plastic used per product category and year)."""

    use_id: str | None = Field(default=None, pattern=_ID, description="Unique id; generated if missing. "
                               "Recording the same id again replaces the record.")
    manufacturer: str = Field(min_length=1, max_length=256, description="Manufacturer that used the material.")
    category: str = Field(min_length=1, max_length=128, description="Product category it went into (e.g. TV).")
    lot_id: str = Field(pattern=_ID, description="Recycled lot received (a product output lot of a recycler).")
    supplier: str | None = Field(default=None, max_length=256, description="Recycler that supplied the lot.")
    received_at: IsoDatetime = Field(description="When the lot was received (with time zone).")
    used_at: IsoDatetime | None = Field(default=None, description="When it was used in production; "
                                        "default the receipt time.")
    received_kg: float = Field(gt=0, le=1e9, allow_inf_nan=False, description="Mass received (kg).")
    used_kg: float = Field(ge=0, le=1e9, allow_inf_nan=False, description="Mass of it used in products (kg).")
    product_model: str | None = Field(default=None, max_length=128, description="Product model made with it.")
    notes: str | None = Field(default=None, max_length=2000, description="Free text.")

    @model_validator(mode="after")
    def _check(self) -> RecycledUseIn:
        if self.used_kg > self.received_kg:
            raise ValueError(f"used_kg {self.used_kg} is more than the {self.received_kg} kg received")
        if self.used_at is not None and self.used_at < self.received_at:
            raise ValueError("used_at is before received_at")
        return self
