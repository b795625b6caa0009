"""Catena-X SecondaryMaterialContentCalculated 1.0.0 for the lot's polymer (shared/reference/standards.md §4).

Percentages are of the material weight: the post-consumer share comes from the lineage; ELV origin goes
to ``postConsumerAutomotive``, WEEE and other post-consumer sources to ``postConsumer``. Recycling is
mechanical; ``isMassBalanced`` is true when the chain of custody is the mass-balance model.
"""

from __future__ import annotations

from typing import Any

from junkan.core.evidence import Evidence
from junkan.core.measurement_model import Composition


def _leaf(pct: float, mass_balanced: bool) -> dict[str, Any]:
    return {"percentageOfMaterialWeight": round(pct, 4), "isMassBalanced": mass_balanced}


def dominant_polymer(ev: Evidence) -> str | None:
    by_mass = ev.composition.by_mass if isinstance(ev.composition, Composition) else {}
    return max(by_mass, key=lambda k: by_mass[k].share) if by_mass else None


def secondary_material_content(ev: Evidence) -> dict[str, Any]:
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
    return {
        "orderNumber": ev.lot.lot_id,
        "secondaryMaterialContent": [{
            "materialClass": polymer,
            "materialNameStandardized": {"referencedStandard": "ISO", "referencedStandardID": "1043-1",
                                         "materialNameStandardizedValue": polymer},
            "unitOfMeasure": {"unitOfMeasureKey": "unit:gram", "materialNetMass": mass_g,
                              "grossMaterialInputMass": gross_g},
            "bioBased": {"bioBasedClass": "gen1", "secondaryBioBased": _leaf(0.0, False),
                         "primaryBioBased": {"percentageOfMaterialWeight": 0.0}},
            "inorganic": {
                "secondaryInorganic": {
                    "preConsumer": {"mechanicalRecycling": _leaf(0.0, mb)},
                    "postConsumer": {"mechanicalRecycling": _leaf(other_pc_pct, mb),
                                     "chemicalRecycling": _leaf(0.0, mb)},
                    "postConsumerAutomotive": {"mechanicalRecycling": _leaf(elv_pct, mb),
                                               "chemicalRecycling": _leaf(0.0, mb)}},
                "primaryInorganic": {"percentageOfMaterialWeight": round(max(0.0, 100 - 100 * pc_share), 4)}},
            "additionalInformation": f"junkan evidence {ev.evidence_id}; chain of custody "
                                     f"{ev.chain_of_custody.model}; claims "
                                     f"{'blocked' if ev.claims.blocked else 'not blocked'}",
        }],
    }
