"""Lineage both ways: an output lot -> source lots, products, models, plants with mass contributions;
a product model -> the output lots that contain it.

Allocation rule (documented in docs/evidence.md): a step mixes its inputs, so an output of mass ``o``
from a step with total output ``O`` takes ``in_i * o / O`` of each input ``i`` (input-attributed mass,
before losses). Inside an intake lot, mass is split over its products by their mass (weighed or from
the composition record), else by item count (flagged). Contributions therefore sum to the output
lot's share of its steps' input mass, which equals its own mass within the steps' loss tolerance.

The walk and the arithmetic are pure functions over data loaded first (``graph.py``): the graph
upstream of the lot in one query, then the records of all its source lots together; ``lineages`` does
the same for many lots at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict

from gateway.composition.ident_repo import match_pending
from gateway.composition.matching import normalise_model
from gateway.specs import reason_text
from gateway.store.base import Store
from gateway.store.db import Database
from gateway.traceability.graph import (
    MAX_DEPTH,
    Graph,
    SourceRecord,
    consumed,
    descendants,
    load_graphs,
    load_sources,
    lot_masses,
    open_alarms,
)
from gateway.traceability.rows import AlarmRow, ProductLine
from junkan.core.evidence import Lineage, ModelContribution, SourceLot, SourceProduct, StepBalance


class LineageError(Exception):
    """A data error of the process graph (a loop, a lineage too deep, an unknown lot) as a coded reason: the
    message is its English text, ``reason`` renders in the reader's language (``reason_text.text``)."""

    def __init__(self, code: str, **params: Any) -> None:
        self.reason = reason_text.reason(code, **params)
        super().__init__(reason_text.text(self.reason))


class AttributedProduct(ProductLine):
    attributed_kg: float  # of the source lot's input-attributed mass, unrounded


@with_config(ConfigDict(extra="forbid"))
class OutputLot(TypedDict):
    lot_id: str
    lot_mass_kg: float
    model_attributed_kg: float
    model_share: float | None
    terminal: Annotated[bool, Field(description="No step consumed the lot (yet).")]


@with_config(ConfigDict(extra="forbid"))
class ModelLineage(TypedDict):
    """The intake lots holding a product model and the output lots made from them (``forward_model``)."""

    model: str
    intake_lots: list[str]
    output_lots: list[OutputLot]


def split_over_products(mass_kg: float, products: list[ProductLine]) -> tuple[list[AttributedProduct], str]:
    """Pure: allocate a source lot's attributed mass over its products (by mass, else by item count)."""
    if not products:
        return [], "none"
    weights: list[float]
    if all(p["mass_kg"] for p in products):
        weights, basis = [p["mass_kg"] or 0.0 for p in products], "product mass"
    else:
        weights, basis = [p["n_items"] for p in products], "item count (product mass unknown)"
    total = sum(weights)
    return [{**p, "attributed_kg": mass_kg * w / total} for p, w in zip(products, weights, strict=True)], basis


def walk(graph: Graph, lot_id: str, lot_mass: float, max_depth: int = MAX_DEPTH
         ) -> tuple[dict[str, float], dict[str, StepBalance]]:
    """Pure: the input-attributed mass of every source lot of ``lot_id`` and the steps on the way.
    A step output of mass ``o`` from total output ``O`` takes ``in_i * o / O`` of each input ``i``."""
    sources: dict[str, float] = defaultdict(float)
    steps: dict[str, StepBalance] = {}

    def visit(current: str, mass: float, path: tuple[str, ...]) -> None:
        if current in path:
            raise LineageError("lineage.cycle", lot=current)
        if len(path) > max_depth:
            raise LineageError("lineage.too_deep", max_depth=max_depth, lot=current)
        made_by = graph.producing(current)
        if not made_by:
            sources[current] += mass
            return
        produced = sum(m for _, m in made_by)
        for step_id, out_mass in made_by:
            share = mass * (out_mass / produced if produced else 1.0 / len(made_by))
            step = steps.setdefault(step_id, graph.steps[step_id])
            total_out = step.output_mass_kg
            for inp in step.inputs:
                visit(inp.lot_id, inp.mass_kg * share / total_out if total_out else 0.0, (*path, current))

    visit(lot_id, lot_mass, ())
    return dict(sources), steps


class _Contribution:
    """One model's share of the sources while they are folded in."""

    def __init__(self, p: AttributedProduct) -> None:
        self.product_id, self.manufacturer, self.category = p["product_id"], p["manufacturer"], p["category"]
        self.attributed_kg = 0.0
        self.source_lots: list[str] = []


def lineage_of(lot_id: str, lot_mass: float, sources: dict[str, float], steps: dict[str, StepBalance],
               records: dict[str, SourceRecord]) -> Lineage:
    """Pure: the lineage document from the walk's result and the source lots' records."""
    source_rows: list[SourceLot] = []
    models: dict[str, _Contribution] = {}
    plants: set[str] = {s.plant for s in steps.values() if s.plant}
    for src, mass in sorted(sources.items()):
        record = records.get(src, SourceRecord(None, []))
        intake = record.intake
        split, basis = split_over_products(mass, record.products)
        if intake and intake["plant"]:
            plants.add(intake["plant"])
        source_rows.append(SourceLot(
            lot_id=src, attributed_kg=round(mass, 6),
            received_at=intake["received_at"] if intake else None,
            source_stream=intake["source_stream"] if intake else None,
            consumer=intake["consumer"] if intake else None,
            plant=intake["plant"] if intake else None,
            net_mass_kg=intake["net_mass_kg"] if intake else None,
            allocation=basis,
            products=[SourceProduct(model=p["model"], product_id=p["product_id"], manufacturer=p["manufacturer"],
                                    category=p["category"], n_items=p["n_items"],
                                    attributed_kg=round(p["attributed_kg"], 6)) for p in split]))
        for p in split:
            m = models.setdefault(p["model"], _Contribution(p))
            m.product_id, m.manufacturer, m.category = p["product_id"], p["manufacturer"], p["category"]
            m.attributed_kg += p["attributed_kg"]
            m.source_lots.append(src)
    total_in = sum(sources.values())
    model_rows = [ModelContribution(model=k, attributed_kg=round(v.attributed_kg, 6), product_id=v.product_id,
                                    manufacturer=v.manufacturer, category=v.category, source_lots=v.source_lots,
                                    share=round(v.attributed_kg / total_in, 6) if total_in else None)
                  for k, v in sorted(models.items())]
    unattributed = total_in - sum(r.attributed_kg for r in model_rows)
    return Lineage(
        lot_id=lot_id, lot_mass_kg=round(float(lot_mass), 6),
        source_input_mass_kg=round(total_in, 6),
        unattributed_kg=round(unattributed, 6),
        sources=source_rows, models=model_rows, plants=sorted(plants),
        steps=sorted(steps.values(), key=lambda s: (s.ended_at, s.step_id)),
    )


def backward(db: Database, lot_id: str, store: Store | None = None) -> Lineage:
    """All source lots of ``lot_id`` with input-attributed masses, and the models/plants/steps behind them."""
    found = lineages(db, [lot_id], store)[lot_id]
    if isinstance(found, LineageError):
        raise found
    return found


def lineages(db: Database, lot_ids: Sequence[str], store: Store | None = None) -> dict[str, Lineage | LineageError]:
    """``backward`` of every lot in ``lot_ids`` (or why not), from one graph and one load of all their
    source lots: the number of queries does not grow with the number of lots (reports, forward lineage)."""
    ids = sorted(set(lot_ids))
    graph = load_graphs(db, ids)
    unmade = [i for i in ids if not graph.producing(i)]
    stored = lot_masses(store.db, unmade, "lots") if store is not None and unmade else {}
    intakes = lot_masses(db, unmade, "intake_lots") if unmade else {}
    out: dict[str, Lineage | LineageError] = {}
    walked: dict[str, tuple[float, dict[str, float], dict[str, StepBalance]]] = {}
    for lot_id in ids:
        producing = graph.producing(lot_id)
        if not producing and lot_id not in stored and lot_id not in intakes:
            out[lot_id] = LineageError("lineage.unknown_lot", lot=lot_id)
            continue
        lot_mass = float(sum(m for _, m in producing) if producing else (
            stored.get(lot_id) or intakes.get(lot_id) or 0.0))
        try:
            walked[lot_id] = (lot_mass, *walk(graph, lot_id, lot_mass))
        except LineageError as exc:
            out[lot_id] = exc
    records = load_sources(db, sorted({s for _, sources, _ in walked.values() for s in sources}), store)
    for lot_id, (lot_mass, sources, steps) in walked.items():
        out[lot_id] = lineage_of(lot_id, lot_mass, sources, steps, records)
    return out


def forward_model(db: Database, model: str, store: Store | None = None, terminal_only: bool = True) -> ModelLineage:
    """Output lots that contain ``model``, with the mass of that model attributed to each (the lots' lineages
    loaded together: a fixed number of queries whatever the number of lots)."""
    norm = normalise_model(model)
    if store is not None:
        match_pending(db, store)
    intake_lots = {r["lot_id"] for r in db.rows("SELECT lot_id, model FROM intake_products") if
                   normalise_model(r["model"]) == norm}
    intake_lots |= {r["lot_id"] for r in db.rows(
        "SELECT DISTINCT lot_id, model FROM ident_matches WHERE status IN ('matched','resolved')")
        if r["model"] and normalise_model(r["model"]) == norm and r["lot_id"]}
    made = descendants(db, sorted(intake_lots))
    taken = consumed(db, made)
    chosen = [lot for lot in made if not (terminal_only and lot in taken)]
    walked = lineages(db, chosen, store)
    outputs: list[OutputLot] = []
    for lot in chosen:
        lin = walked[lot]
        if isinstance(lin, LineageError):
            raise lin
        contrib = sum(m.attributed_kg for m in lin.models if normalise_model(m.model) == norm)
        outputs.append({"lot_id": lot, "lot_mass_kg": lin.lot_mass_kg, "model_attributed_kg": round(contrib, 6),
                        "model_share": round(contrib / lin.source_input_mass_kg, 6)
                        if lin.source_input_mass_kg else None, "terminal": lot not in taken})
    return {"model": model, "intake_lots": sorted(intake_lots), "output_lots": outputs}


def alarms_blocking(alarms: Sequence[AlarmRow], lineage: Lineage) -> list[AlarmRow]:
    """Pure: the alarms (uncleared) on any step of this lineage, or on a period containing one."""
    step_ids = {s.step_id for s in lineage.steps}
    ends = [s.ended_at for s in lineage.steps]
    found = []
    for alarm in alarms:
        if alarm["scope"] == "step" and alarm["ref"] in step_ids:
            found.append(alarm)
        elif alarm["scope"] == "period":
            start, _, end = alarm["ref"].partition("/")
            if any(start <= e < end for e in ends):
                found.append(alarm)
    return found


def blocking_alarms(db: Database, lineage: Lineage) -> list[AlarmRow]:
    """Uncleared balance alarms blocking claims over this lineage."""
    return alarms_blocking(open_alarms(db), lineage)
