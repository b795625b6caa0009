"""Catena-X SecondaryMaterialContentCalculated 1.0.0 for the lot (shared/reference/standards.md §4).

One ``secondaryMaterialContent`` entry per measured polymer (a 75/25 HIPS/ABS lot is a mixture: two entries,
each with its mass), named per ISO 1043-1 (``iso1043.py``: HIPS -> PS-HI, PC/ABS -> PC+ABS) with its VDA
231-106 class. Percentages are of each material's weight and come from the lineage (the lot's sources, by
input-attributed mass; the same split for every polymer of the lot, since sources are known per lot):

- ``preConsumer`` = sources recorded ``pre_consumer`` (ISO 14021: recycled, so never counted as primary);
- ``postConsumerAutomotive`` = post-consumer ELV sources; ``postConsumer`` = other post-consumer sources;
- ``primaryInorganic`` = 0: every traced source is end-of-life or production waste; untraced input is of
  unknown origin and is neither claimed as recycled nor reported as primary (``additionalInformation`` says
  how much);
- a lot whose recycled-content claims are blocked claims nothing: every recycled leaf is 0 and
  ``additionalInformation`` starts with "recycled content NOT claimed" and the reasons.
Recycling is mechanical; ``isMassBalanced`` is true when the chain of custody is the mass-balance model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gateway.evidence.iso1043 import standard_name
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
    """The aspect (1.0.0): one entry per polymer of the lot."""

    orderNumber: str
    secondaryMaterialContent: list[MaterialContent]


@dataclass(frozen=True)
class RecycledSplit:
    """Shares (0..1) of the lot's source input mass by ISO 14021 origin class, and what they rest on."""

    post_consumer: float
    post_consumer_elv: float
    pre_consumer: float
    unknown: float
    claimed: bool  # False when claims are blocked: nothing above may be claimed

    @property
    def recycled(self) -> float:
        return self.post_consumer + self.post_consumer_elv + self.pre_consumer


def recycled_split(ev: Evidence) -> RecycledSplit:
    """Pure: the lot's sources by origin class (shared by Catena-X and the UNTP DPP)."""
    total = sum(s.attributed_kg for s in ev.origin.source_lots)
    kg = {"post": 0.0, "elv": 0.0, "pre": 0.0, "unknown": 0.0}
    for src in ev.origin.source_lots:
        if src.consumer == "pre_consumer":
            kg["pre"] += src.attributed_kg
        elif src.consumer == "post_consumer":
            kg["elv" if src.source_stream == "elv" else "post"] += src.attributed_kg
        else:
            kg["unknown"] += src.attributed_kg
    if not total:
        return RecycledSplit(0.0, 0.0, 0.0, 1.0, claimed=False)
    return RecycledSplit(kg["post"] / total, kg["elv"] / total, kg["pre"] / total, kg["unknown"] / total,
                         claimed=not ev.claims.blocked)


def _leaf(share: float, mass_balanced: bool) -> Leaf:
    return Leaf(percentageOfMaterialWeight=round(100 * share, 4), isMassBalanced=mass_balanced)


def _info(ev: Evidence, split: RecycledSplit, polymer: str, known: bool, share_text: str) -> str:
    parts = [f"junkan evidence {ev.evidence_id}"]
    if not split.claimed:
        why = "; ".join(ev.claims.reasons) or "no traced source"
        parts.insert(0, f"recycled content NOT claimed (claims blocked: {why}); recycled percentages are 0")
    parts.append(share_text)
    if not known:
        parts.append(f"polymer '{polymer}' has no ISO 1043-1 symbol in junkan's table: name as read by the NIR")
    if split.unknown > 0:
        parts.append(f"{100 * split.unknown:.4g} % of the input is of untraced origin: neither claimed as recycled "
                     "nor reported as primary")
    parts.append(f"chain of custody {ev.chain_of_custody.model}")
    return "; ".join(parts)


def aspect(ev: Evidence) -> SecondaryMaterialContentCalculated:
    split = recycled_split(ev)
    claim = 1.0 if split.claimed else 0.0
    mb = ev.chain_of_custody.model == "mass_balance"
    lot_g = 1000 * float(ev.lot.net_mass_kg or 0.0)
    gross_g = 1000 * float(ev.mass_balance.source_input_mass_kg or ev.lot.net_mass_kg or 0.0)
    by_mass = ev.composition.by_mass if isinstance(ev.composition, Composition) else {}
    if by_mass:
        materials = [(p, m.share, f"mass share {100 * m.share:.4g} % (95 % CI {100 * m.ci95[0]:.4g}-"
                      f"{100 * m.ci95[1]:.4g} %) of the NIR-identified pieces") for p, m in
                     sorted(by_mass.items(), key=lambda kv: -kv[1].share)]
    else:
        materials = [("unknown", 1.0, "composition not measured: the polymer is unknown")]
    entries = []
    for polymer, share, share_text in materials:
        name = standard_name(polymer)
        entries.append(MaterialContent(
            materialClass=name.vda_class,
            materialNameStandardized=MaterialName(referencedStandard="ISO", referencedStandardID=name.standard
                                                  .removeprefix("ISO "), materialNameStandardizedValue=name.symbol),
            unitOfMeasure=UnitOfMeasure(unitOfMeasureKey="unit:gram", materialNetMass=round(share * lot_g, 3),
                                        grossMaterialInputMass=round(share * gross_g, 3)),
            bioBased=BioBased(bioBasedClass="gen1", secondaryBioBased=_leaf(0.0, False),
                              primaryBioBased=Share(percentageOfMaterialWeight=0.0)),
            inorganic=Inorganic(
                secondaryInorganic=SecondaryInorganic(
                    preConsumer=Recycling(mechanicalRecycling=_leaf(claim * split.pre_consumer, mb)),
                    postConsumer=Recycling(mechanicalRecycling=_leaf(claim * split.post_consumer, mb),
                                           chemicalRecycling=_leaf(0.0, mb)),
                    postConsumerAutomotive=Recycling(mechanicalRecycling=_leaf(claim * split.post_consumer_elv, mb),
                                                     chemicalRecycling=_leaf(0.0, mb))),
                primaryInorganic=Share(percentageOfMaterialWeight=0.0)),
            additionalInformation=_info(ev, split, polymer, name.known or polymer == "unknown", share_text)))
    return SecondaryMaterialContentCalculated(orderNumber=ev.lot.lot_id, secondaryMaterialContent=entries)


def secondary_material_content(ev: Evidence) -> dict[str, Any]:
    """The aspect as JSON."""
    return aspect(ev).model_dump(mode="json")
