"""The composition tables' rows as the repositories hand them out, written once: one TypedDict per table (or
per query reading some of its columns), which mypy checks readers against and which the API returns as its
response models (pattern: ``gateway/store/rows.py``; ``extra="forbid"``: a column added by a migration must be
added here). JSON text columns arrive decoded where the repository names them; timestamps stay ISO text.
"""

from __future__ import annotations

from typing import Annotated, NotRequired

from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict  # pydantic needs typing_extensions' TypedDict on 3.11

from junkan.core.json_types import JsonObject

_ROW = ConfigDict(extra="forbid")


# -- comp_products ----------------------------------------------------------------------------------
@with_config(_ROW)
class ProductSummary(TypedDict):
    """The ``comp_products`` columns a product list shows (``repo.list_products``)."""

    product_id: str
    model: str
    manufacturer: str | None
    category: str | None
    mass_mg: float | None
    gtin: str | None
    declaration_class: str | None
    source: str
    imported_at: str


@with_config(_ROW)
class ProductRow(ProductSummary):
    """``comp_products``: one product record. ``record`` is a ``model.Product`` as the importing release wrote it
    (``asdict``), served as stored: a record imported by an older release reads back without the fields it had
    no value for, not with defaults it never stated."""

    model_norm: Annotated[str, Field(description="Model as matching compares it.")]
    record: Annotated[JsonObject, Field(description="Parts, materials and substances as imported.")]
    source_sha256: str | None


class ModelIndexRow(TypedDict):
    """The ``comp_products`` columns identifications are matched against (``repo.model_index``)."""

    product_id: str
    model: str
    model_norm: str
    gtin: str | None


class SubstanceRow(TypedDict):
    """``comp_substances``: one substance of one homogeneous material of a product (``repo.substances_of``)."""

    product_id: str
    part: str | None
    material: str | None
    material_class: str | None
    material_mass_mg: float | None
    substance: str
    cas: str | None
    mass_mg: float | None
    fraction: float | None
    dsl_ref: str | None
    declared: str | None
    below_lod: int  # 1: a measured non-detect
    lod_fraction: float | None
    flags: str  # JSON text of the substance's flags (not decoded: nothing reads them back from here)


# -- comp_imports -----------------------------------------------------------------------------------
@with_config(_ROW)
class SkipEntry(TypedDict):
    """One thing an import left out or doubted (``model.Skip``), and why."""

    record: Annotated[str, Field(description="The record (or row) left out.")]
    reason: str


@with_config(_ROW)
class ReadSummary(TypedDict):
    """What was read of one product (``model.read_summary``)."""

    product_id: str
    model: str
    mass_mg: float | None
    declaration_class: str | None
    parts: int
    materials: int
    substances: int
    substances_flagged: int
    substances_presence_only: int
    substances_below_lod: int


@with_config(_ROW)
class ImportReport(TypedDict):
    """The report of one file's import (stored in ``comp_imports.report``; a refused import's 422 detail)."""

    source: Annotated[str, Field(description="File name given to the import.")]
    format: Annotated[str | None, Field(description="Format detected from the content.")]
    status: Annotated[str, Field(description="imported, or why nothing was.")]
    error: str | None
    products: Annotated[list[str], Field(description="Product ids imported.")]
    skipped: list[SkipEntry]
    warnings: list[SkipEntry]
    # reports stored by 0.1.0 have neither: read back as empty
    read: NotRequired[Annotated[list[ReadSummary], Field(
        default_factory=list, description="Per product: parts, materials, substances read (flagged, "
        "presence-only, below LOD).")]]
    unread_elements: NotRequired[Annotated[dict[str, int], Field(
        default_factory=dict, description="Elements not read, by name.")]]


@with_config(_ROW)
class ImportRow(TypedDict):
    """``comp_imports``: one import of one file."""

    id: int
    source: str
    format: str | None
    sha256: str | None
    imported_at: str
    status: str
    n_products: int
    n_skipped: int
    report: ImportReport


# -- ident_matches ----------------------------------------------------------------------------------
@with_config(_ROW)
class Observed(TypedDict):
    """What one identification saw: the ident reading's data and the strings matching compared."""

    data: Annotated[JsonObject, Field(description="The ident reading's data as the camera sent it.")]
    strings: Annotated[list[str], Field(description="GTINs ('gtin:...') and model strings, most trusted first.")]
    ts: str
    device: str


@with_config(_ROW)
class Candidate(TypedDict):
    """A record an identification resembles, with its score (listed for the operator)."""

    product_id: str
    model: str
    score: float
    observed: Annotated[str, Field(description="The observed model string it was compared with.")]


@with_config(_ROW)
class IdentMatchRow(TypedDict):
    """``ident_matches``: the match of one ident reading (its ``observed`` and ``candidates`` decoded)."""

    agent: str
    msg_id: str
    idx: int
    lot_id: str | None
    observed: Annotated[Observed, Field(description="The camera's reading and the strings matching compared.")]
    status: Annotated[str, Field(description="matched, unmatched, resolved or rejected.")]
    product_id: str | None
    model: str | None
    method: Annotated[str | None, Field(description="gtin, exact, normalised, fuzzy or operator.")]
    score: float | None
    candidates: list[Candidate]
    resolved_by: str | None
    updated_at: str
