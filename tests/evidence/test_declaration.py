"""The recycled lot's material declaration (IPC-1752A style): export -> import-composition keeps every material
share (with its CI) and every substance (measured values, below-LOD with the LOD, declared-in-sources), and the
record is usable as a material in the next product's composition. Expected values come from the Evidence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateway.composition import repo
from gateway.composition.importer import import_bytes, parse_file
from gateway.evidence.build import build_evidence
from gateway.evidence.declaration import censored, declaration_xml
from gateway.evidence.formats import produce
from junkan.core.evidence import InsufficientData


def test_round_trip_keeps_every_material_share_and_substance(plant: dict[str, Any], junkan: Any,
                                                             gateway_db_url: str, tmp_path: Path) -> None:
    store, db = plant["store"], plant["db"]
    ev = build_evidence(store, db, "PP-OUT-1")
    assert not isinstance(ev.composition, InsufficientData)
    data, media = produce(store, "PP-OUT-1", "ipc1752a")
    assert media == "application/xml" and data.startswith(b"<?xml")
    data = declaration_xml(ev)  # the same exporter on the evidence the expectations below are read from
    path = tmp_path / "PP-OUT-1.ipc1752a.xml"
    path.write_bytes(data)
    res = junkan("gateway", "import-composition", str(path), "--db", gateway_db_url, "--json")
    assert res.returncode == 0, res.stderr
    fmt, parsed = parse_file(data, "decl")
    (lot,) = parsed.products
    assert fmt == "ipc1752a" and not parsed.skipped and parsed.unread == {}, (parsed.skipped, parsed.unread)
    assert (lot.product_id, lot.declaration_class, lot.evidence_id) == ("PP-OUT-1", "recycled-lot", ev.evidence_id)
    assert lot.mass_mg == pytest.approx(ev.lot.net_mass_kg * 1e6)
    materials = {m.name: m for part in lot.parts for m in part.materials if m.share is not None}
    assert set(materials) == set(ev.composition.by_mass)
    for polymer, share in ev.composition.by_mass.items():
        m = materials[polymer]
        assert m.share == share.share and m.share_ci95 == list(share.ci95)
        assert m.mass_mg == pytest.approx(share.share * ev.lot.net_mass_kg * 1e6)
    whole = next(part for part in lot.parts if part.name == "(whole lot)")
    subs = {s.name: s for s in whole.materials[0].substances}
    measured = [c for c in ev.contaminants if c.n > 0]
    declared = ev.declared_substances.substances
    assert len(subs) == len(measured) + len(declared) and measured and declared
    for row in measured:
        s = subs[row.analyte]
        assert s.basis == "measured" and s.cas == row.cas
        if censored(row):
            assert s.below_lod and s.fraction is None and s.mass_mg is None
            assert s.lod_fraction == pytest.approx((row.lod_ppm or 0) * 1e-6)
        else:
            assert not s.below_lod and s.fraction == pytest.approx((row.mean_ppm or 0) * 1e-6)
    assert any(censored(c) for c in measured) and any(not censored(c) for c in measured)
    for d in declared:
        s = subs[d.name]
        assert s.declared == "declared_in_sources" and s.cas == d.cas and s.source_share == d.source_share
        assert s.fraction is None and s.mass_mg is None  # presence only, never an invented amount


def test_imported_declaration_is_a_usable_material_record(plant: dict[str, Any]) -> None:
    store, db = plant["store"], plant["db"]
    data, _ = produce(store, "PP-OUT-1", "ipc1752a")
    report = import_bytes(db, data, "PP-OUT-1.ipc1752a.xml")
    assert report["status"] == "imported" and report["products"] == ["PP-OUT-1"] and not report["skipped"]
    assert all("reference list" in w["reason"] for w in report["warnings"])  # BDP: valid CAS, not on our list
    record = repo.get_product(db, "PP-OUT-1")
    assert record is not None and record["declaration_class"] == "recycled-lot"
    rows = repo.substances_of(db, ["PP-OUT-1"])
    cd = next(r for r in rows if r["substance"] == "Cd")
    assert cd["below_lod"] == 1 and cd["fraction"] is None and cd["lod_fraction"] == pytest.approx(5e-6)
    br = next(r for r in rows if r["substance"] == "Br")
    assert br["fraction"] == pytest.approx(41e-6) and br["mass_mg"] == pytest.approx(41e-6 * 7.0e6)
    assert report["read"][0]["substances_below_lod"] == 1
