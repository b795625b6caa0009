"""Catena-X SecondaryMaterialContentCalculated 1.0.0 for the lot's polymer (shared/reference/standards.md §4).

Percentages are of the material weight: the post-consumer share comes from the lineage; ELV origin goes
to ``postConsumerAutomotive``, WEEE and other post-consumer sources to ``postConsumer``. Recycling is
mechanical; ``isMassBalanced`` is true when the chain of custody is the mass-balance model.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from junkan.core.evidence import Evidence
from junkan.core.measurement_model import Composition


class _Aspect(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Leaf(_Aspect):
    percentageOfMaterialWeight: float
    isMassBalanced: bool


class Share(_Aspect):
    percentageOfMaterialWeight: float


class Recycling(_Aspect):
    mechanicalRecycling: Leaf
    chemicalRecycling: Leaf | None = Field(default=None, exclude_if=lambda v: v is None)


class SecondaryInorganic(_Aspect):
    preConsumer: Recycling
    postConsumer: Recycling
    postConsumerAutomotive: Recycling


class Inorganic(_Aspect):
    secondaryInorganic: SecondaryInorganic
    primaryInorganic: Share


class BioBased(_Aspect):
    bioBasedClass: str
    secondaryBioBased: Leaf
    primaryBioBased: Share


class UnitOfMeasure(_Aspect):
    unitOfMeasureKey: str
    materialNetMass: float
    grossMaterialInputMass: float


class MaterialName(_Aspect):
    referencedStandard: str
    referencedStandardID: str
    materialNameStandardizedValue: str


class MaterialContent(_Aspect):
    materialClass: str
    materialNameStandardized: MaterialName
    unitOfMeasure: UnitOfMeasure
    bioBased: BioBased
    inorganic: Inorganic
    additionalInformation: str


class SecondaryMaterialContentCalculated(_Aspect):
    """The aspect (1.0.0) for the lot's dominant polymer."""

    orderNumber: str
    secondaryMaterialContent: list[MaterialContent]


def _leaf(pct: float, mass_balanced: bool) -> Leaf:
    return Leaf(percentageOfMaterialWeight=round(pct, 4), isMassBalanced=mass_balanced)


def dominant_polymer(ev: Evidence) -> str | None:
    by_mass = ev.composition.by_mass if isinstance(ev.composition, Composition) else {}
    return max(by_mass, key=lambda k: by_mass[k].share) if by_mass else None


def aspect(ev: Evidence) -> SecondaryMaterialContentCalculated:
    origin = ev.origin
    total = sum(origin.streams_kg.values()) if origin.streams_kg else 0.0
    elv = origin.streams_kg.get("elv", 0.0)
    pc_share = origin.post_consumer_share or 0.0
    elv_pct = 100 * elv / total if total else 0.0
    other_pc_pct = max(0.0, 100 * pc_share - elv_pct)
    mb = ev.chain_of_custody.model == "mass_balance"
    mass_g = round(1000 * float(ev.lot.net_mass_kg or 0.0), 3)
    gross_g = round(1000 * float(ev.mass_balance.source_input_mass_kg or ev.lot.net_mass_kg or 0.0), 3)
    polymer = dominant_polymer(ev) or "unknown"
    return SecondaryMaterialContentCalculated(orderNumber=ev.lot.lot_id, secondaryMaterialContent=[MaterialContent(
        materialClass=polymer,
        materialNameStandardized=MaterialName(referencedStandard="ISO", referencedStandardID="1043-1",
                                              materialNameStandardizedValue=polymer),
        unitOfMeasure=UnitOfMeasure(unitOfMeasureKey="unit:gram", materialNetMass=mass_g,
                                    grossMaterialInputMass=gross_g),
        bioBased=BioBased(bioBasedClass="gen1", secondaryBioBased=_leaf(0.0, False),
                          primaryBioBased=Share(percentageOfMaterialWeight=0.0)),
        inorganic=Inorganic(
            secondaryInorganic=SecondaryInorganic(
                preConsumer=Recycling(mechanicalRecycling=_leaf(0.0, mb)),
                postConsumer=Recycling(mechanicalRecycling=_leaf(other_pc_pct, mb), chemicalRecycling=_leaf(0.0, mb)),
                postConsumerAutomotive=Recycling(mechanicalRecycling=_leaf(elv_pct, mb),
                                                 chemicalRecycling=_leaf(0.0, mb))),
            primaryInorganic=Share(percentageOfMaterialWeight=round(max(0.0, 100 - 100 * pc_share), 4))),
        additionalInformation=f"junkan evidence {ev.evidence_id}; chain of custody {ev.chain_of_custody.model}; "
                              f"claims {'blocked' if ev.claims.blocked else 'not blocked'}")])


def secondary_material_content(ev: Evidence) -> dict[str, Any]:
    """The aspect as JSON."""
    return aspect(ev).model_dump(mode="json")
