"""Catena-X SecondaryMaterialContentCalculated means what the scenario lots are: one entry per polymer of a
mixture (ISO 1043-1 names), masses from the lot and its inputs, pre-/post-consumer/ELV shares from the
intake records, no recycled claim for a blocked lot; re-derived from the store's rows (truth.py), not from
gateway.evidence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gateway.evidence.build import build_evidence
from gateway.evidence.formats import render_as
from tests.evidence.conftest import validator
from tests.evidence.semantic.truth import (
    ISO_SYMBOL,
    NAME_STANDARD,
    Tally,
    blocked_in_store,
    input_mass,
    lot_mass,
    source_split,
    stored_measurement,
    worlds,
)


def check_catenax(t: Tally, db: Any, lot_id: str, doc: dict[str, Any]) -> None:
    meas = stored_measurement(db, lot_id)
    by_mass = meas["composition"]["by_mass"]
    lot_kg = lot_mass(db, lot_id)
    gross_kg = input_mass(db, lot_id)
    split = source_split(db, lot_id)
    blocked = blocked_in_store(db, lot_id)
    want = {"pre": 0.0, "post": 0.0, "elv": 0.0} if blocked else split
    t.eq(f"{lot_id} orderNumber", doc["orderNumber"], lot_id)
    entries = {e["materialNameStandardized"]["materialNameStandardizedValue"]: e
               for e in doc["secondaryMaterialContent"]}
    t.eq(f"{lot_id} materials (a mixture lists each polymer)", set(entries), {ISO_SYMBOL[p] for p in by_mass})
    for polymer, m in by_mass.items():
        e = entries.get(ISO_SYMBOL[polymer])
        if e is None:
            continue
        where = f"{lot_id} {polymer}"
        name = e["materialNameStandardized"]
        standard, vda = NAME_STANDARD.get(polymer, ("1043-1", "5.1"))
        t.eq(f"{where} standard", (name["referencedStandard"], name["referencedStandardID"]), ("ISO", standard))
        t.eq(f"{where} VDA 231-106 class", e["materialClass"], vda)
        uom = e["unitOfMeasure"]
        t.eq(f"{where} unit", uom["unitOfMeasureKey"], "unit:gram")
        # grams to 3 decimals (mg); the lineage keeps kg to 6 decimals: 1 mg either way
        t.eq(f"{where} net mass g", uom["materialNetMass"], 1000 * m["share"] * lot_kg, atol=1e-3)
        t.eq(f"{where} gross input mass g", uom["grossMaterialInputMass"], 1000 * m["share"] * gross_kg, atol=1e-3)
        sec = e["inorganic"]["secondaryInorganic"]
        t.eq(f"{where} pre-consumer %", sec["preConsumer"]["mechanicalRecycling"]["percentageOfMaterialWeight"],
             100 * want["pre"], tol=1e-6)
        t.eq(f"{where} post-consumer %", sec["postConsumer"]["mechanicalRecycling"]["percentageOfMaterialWeight"],
             100 * want["post"], tol=1e-6)
        t.eq(f"{where} post-consumer ELV %",
             sec["postConsumerAutomotive"]["mechanicalRecycling"]["percentageOfMaterialWeight"], 100 * want["elv"],
             tol=1e-6)
        t.eq(f"{where} chemical recycling %", sec["postConsumer"]["chemicalRecycling"]["percentageOfMaterialWeight"],
             0.0)
        t.eq(f"{where} primary % (pre-consumer is recycled, not primary)",
             e["inorganic"]["primaryInorganic"]["percentageOfMaterialWeight"], 0.0)
        t.eq(f"{where} mass balanced (only when part of the input is untraced)",
             sec["postConsumer"]["mechanicalRecycling"]["isMassBalanced"], split["unknown"] > 0)
        if split["unknown"]:
            t.true(f"{where} untraced share stated", "untraced origin" in e["additionalInformation"])
        info = e["additionalInformation"]
        t.eq(f"{where} says a blocked lot claims nothing", info.startswith("recycled content NOT claimed"), blocked)
        t.true(f"{where} share and CI stated", f"{100 * m['share']:.4g} %" in info)


@pytest.mark.parametrize("world", ["truth", "scenarios"])
def test_catenax_means_what_the_store_says(request: pytest.FixtureRequest, world: str, shared_dir: Path,
                                           gateway_db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """``gateway_db_url``: the store follows --gateway-db (a postgres run keeps this test)."""
    built, lots = worlds(request, world)
    store, db = built["store"], built["db"]
    schema = validator(shared_dir, "catenax/SecondaryMaterialContentCalculated-schema.json")
    t = Tally(f"catenax ({world} lots {', '.join(lots)})")
    for lot_id in lots:
        doc = json.loads(render_as(build_evidence(store, db, lot_id), "catenax"))
        t.eq(f"{lot_id} schema errors", [e.message[:120] for e in schema.iter_errors(doc)], [])
        check_catenax(t, db, lot_id, doc)
    with capsys.disabled():
        print("\n" + t.summary())
    assert t.checked > 40 and not t.mismatches, (t.summary(), t.mismatches[:10])


def test_catenax_checks_can_fail(truth: dict[str, Any]) -> None:
    """The old output's faults are caught: the majority polymer as 100 %, a trade name, pre-consumer input as
    primary, a post-consumer claim for a blocked lot."""
    store, db = truth["store"], truth["db"]
    mix = json.loads(render_as(build_evidence(store, db, "MIX-1"), "catenax"))
    pre = json.loads(render_as(build_evidence(store, db, "PRE-1"), "catenax"))
    blk = json.loads(render_as(build_evidence(store, db, "BLK-1"), "catenax"))
    broken: list[tuple[str, dict[str, Any]]] = []
    one = json.loads(json.dumps(mix))
    one["secondaryMaterialContent"] = one["secondaryMaterialContent"][:1]
    broken.append(("MIX-1", one))
    trade = json.loads(json.dumps(mix))
    trade["secondaryMaterialContent"][0]["materialNameStandardized"]["materialNameStandardizedValue"] = "HIPS"
    broken.append(("MIX-1", trade))
    primary = json.loads(json.dumps(pre))
    for e in primary["secondaryMaterialContent"]:
        e["inorganic"]["secondaryInorganic"]["preConsumer"]["mechanicalRecycling"]["percentageOfMaterialWeight"] = 0.0
        e["inorganic"]["primaryInorganic"]["percentageOfMaterialWeight"] = 40.0
    broken.append(("PRE-1", primary))
    claim = json.loads(json.dumps(blk))
    claim["secondaryMaterialContent"][0]["inorganic"]["secondaryInorganic"]["postConsumer"]["mechanicalRecycling"][
        "percentageOfMaterialWeight"] = 100.0
    broken.append(("BLK-1", claim))
    for lot_id, doc in broken:
        t = Tally("negative")
        check_catenax(t, db, lot_id, doc)
        assert t.mismatches, lot_id
