"""The rows of the process-graph tables as this package reads them, written once: one TypedDict per table
(or per query that reads some of its columns), which mypy checks the lineage, report and evidence code
against and which the API returns as its response models (``extra="forbid"`` on whole-table rows: a column
added by a migration must be added here). Like ``gateway/store/rows.py``, JSON text columns arrive decoded
and timestamps stay ISO-8601 UTC text as stored.
"""

from __future__ import annotations

from typing import Annotated, NotRequired

from pydantic import ConfigDict, Field, with_config
from typing_extensions import ReadOnly, TypedDict  # pydantic needs typing_extensions' TypedDict on 3.11

from junkan.core.json_types import JsonObject

_ROW = ConfigDict(extra="forbid")


@with_config(_ROW)
class Balance(TypedDict):
    """Mass balance of a step or a period (``balance.balance``), against a tolerance on input mass."""

    input_kg: float
    output_kg: float
    declared_loss_kg: float
    unaccounted_kg: Annotated[float, Field(description="input - output - declared losses.")]
    tolerance: Annotated[float, Field(description="Share of the input allowed to be unaccounted.")]
    ok: bool
    reason: str | None


@with_config(_ROW)
class StepRow(TypedDict):
    """``process_steps``: one row per recorded step, with its balance."""

    step_id: str
    kind: str
    site: str | None
    plant: str | None
    started_at: str
    ended_at: str
    input_mass_kg: float
    output_mass_kg: float
    declared_loss_kg: float
    unaccounted_kg: float
    tolerance: float
    balance_ok: Annotated[int, Field(description="1 when the step's balance held, else 0.")]
    doc: Annotated[JsonObject, Field(description="The step as recorded.")]
    recorded_at: str


class GraphStep(TypedDict):
    """The ``process_steps`` columns a lineage reads (``graph.STEP_COLUMNS``)."""

    step_id: str
    kind: str
    plant: str | None
    site: str | None
    ended_at: str
    balance_ok: int
    input_mass_kg: float
    output_mass_kg: float
    declared_loss_kg: float


class FlowMass(TypedDict):
    """A ``process_flows`` row as the graph reads it: which lot entered or left which step, and how much."""

    step_id: str
    direction: str  # in / out
    lot_id: str
    mass_kg: float


class UpstreamRow(GraphStep, FlowMass):
    """A row of ``graph.load_graph``'s query: one flow of a step upstream of the lot, with the step's columns."""


class SuppliedFlow(TypedDict):
    """A final output flow (not consumed by a later step) with its step, as the recycled-content report reads it."""

    lot_id: str
    mass_kg: float
    role: str | None
    step_id: str
    kind: str
    ended_at: str


class IntakeLot(TypedDict):
    """The ``intake_lots`` columns a lineage reads for a source lot."""

    lot_id: str
    plant: str | None
    received_at: str
    source_stream: str
    consumer: str  # post_consumer / pre_consumer
    net_mass_kg: float | None


class ProductLine(TypedDict):
    """One product line of a source lot: recorded on intake, identified by camera, or named by its measurement."""

    model: str
    product_id: str | None
    manufacturer: str | None
    category: str | None
    n_items: int
    mass_kg: float | None


class IntakeProductRow(ProductLine):
    """``intake_products``: the products an intake lot was recorded with."""

    lot_id: str


class ProductFacts(TypedDict):
    """The ``comp_products`` columns the process graph reads of a product record."""

    product_id: str
    model: str
    manufacturer: str | None
    category: str | None
    mass_mg: float | None


class LotProductRow(TypedDict):
    """A row of ``ident_repo.LOT_PRODUCTS``: matched identifications of a lot per product, with its record."""

    lot_id: str
    product_id: str | None
    model: str  # matched and resolved identifications name a model
    manufacturer: str | None
    category: str | None
    mass_mg: float | None
    n_items: int


class ModelCount(TypedDict):
    """Items of one model in one lot: an intake record's line or a camera's count (``crosscheck``)."""

    lot_id: ReadOnly[str]
    model: ReadOnly[str]
    n_items: ReadOnly[int]


class IdentCount(TypedDict):
    """Identification matches of a lot per (status, method) (``graph.ident_counts``)."""

    status: str
    method: str | None
    n: int


class AlarmDetail(TypedDict):
    """What the balance check found: the balance, and the step's kind or the period's failing steps."""

    balance: Balance
    kind: NotRequired[str]
    failing_steps: NotRequired[list[str]]


@with_config(_ROW)
class AlarmRow(TypedDict):
    """``balance_alarms``: a failed balance of a step or a period; uncleared ones block claims downstream."""

    id: int
    scope: Annotated[str, Field(description="step or period.")]
    ref: Annotated[str, Field(description="Step id, or 'start/end' of the period.")]
    raised_at: str
    detail: AlarmDetail
    cleared_at: str | None


@with_config(_ROW)
class UseRecordRow(TypedDict):
    """``rc_uses``: a manufacturer's receipt and use of a recycled lot."""

    use_id: str
    manufacturer: str
    category: str
    lot_id: str
    supplier: str | None
    received_at: str
    used_at: str | None
    received_kg: float
    used_kg: float
    product_model: str | None
    doc: Annotated[JsonObject, Field(description="The use as recorded.")]
    recorded_at: str
