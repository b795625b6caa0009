"""The recycled lot's IPC-1752A-style declaration, exported and read back through `junkan gateway
import-composition`, keeps every material share (with its interval) and every substance (measured amount, or
below-LOD with its LOD and no amount; presence-only substances declared in the sources): compared row by row
with the lot's stored measurement and the source products' records (SQL), not with the Evidence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gateway.evidence.formats import produce
from tests.evidence.semantic.truth import (
    ELEMENT_CAS,
    ISO_SYMBOL,
    Tally,
    all_below_lod,
    attributed_sources,
    lot_mass,
    stored_measurement,
    worlds,
)


def source_declared(db: Any, lot_id: str) -> set[str]:
    """CAS (or name) of substances the lot's source products declare present: products of its source lots by
    intake record or matched camera identification."""
    found: set[str] = set()
    for src in attributed_sources(db, lot_id):
        rows = db.rows("SELECT cas, substance FROM comp_substances WHERE (below_lod IS NULL OR below_lod = 0) AND "
                       "product_id IN (SELECT product_id FROM ident_matches WHERE lot_id = ? AND status IN "
                       "('matched', 'resolved') UNION SELECT product_id FROM intake_products WHERE lot_id = ?)",
                       [src, src])
        found |= {r["cas"] or r["substance"] for r in rows}
    return found


def check_round_trip(t: Tally, db: Any, lot_id: str, before_import: set[str]) -> None:
    meas = stored_measurement(db, lot_id)
    mass = lot_mass(db, lot_id)
    product = db.one("SELECT mass_mg, declaration_class, record FROM comp_products WHERE product_id = ?", [lot_id])
    t.true(f"{lot_id} imported", product is not None)
    if product is None:
        return
    t.eq(f"{lot_id} mass mg", product["mass_mg"], mass * 1e6)
    t.eq(f"{lot_id} class", product["declaration_class"], "recycled-lot")
    record = json.loads(product["record"])
    evidence_id = str(record.get("evidence_id", ""))
    t.true(f"{lot_id} evidence id kept", evidence_id.startswith(f"urn:junkan:evidence:{lot_id}:"))
    materials = {m["name"]: m for part in record["parts"] for m in part["materials"] if m.get("share") is not None}
    by_mass = meas["composition"]["by_mass"]
    t.eq(f"{lot_id} materials", set(materials), set(by_mass))
    for polymer, entry in by_mass.items():
        m = materials.get(polymer, {})
        t.eq(f"{lot_id} {polymer} share", m.get("share"), entry["share"])
        t.eq(f"{lot_id} {polymer} CI", m.get("share_ci95"), entry["ci95"])
        t.eq(f"{lot_id} {polymer} mass mg", m.get("mass_mg"), entry["share"] * mass * 1e6)
        t.eq(f"{lot_id} {polymer} class (ISO 1043-1)", m.get("material_class"), ISO_SYMBOL[polymer])
    rows = db.rows("SELECT substance, cas, fraction, mass_mg, below_lod, lod_fraction, declared, dsl_ref FROM "
                   "comp_substances WHERE product_id = ?", [lot_id])
    measured = {r["substance"]: r for r in rows if r["dsl_ref"] == "junkan:measured"}
    screened = {a: e for a, e in meas["contaminants"].items() if e["n"]}
    t.eq(f"{lot_id} measured substances", set(measured), set(screened))
    for analyte, entry in screened.items():
        r = measured.get(analyte, {})
        t.eq(f"{lot_id} {analyte} CAS", r.get("cas"), ELEMENT_CAS[analyte])
        if all_below_lod(entry):
            t.eq(f"{lot_id} {analyte} below LOD", bool(r.get("below_lod")), True)
            t.eq(f"{lot_id} {analyte} LOD", r.get("lod_fraction"), entry["lod_ppm"] * 1e-6)
            t.eq(f"{lot_id} {analyte} no amount", (r.get("fraction"), r.get("mass_mg")), (None, None))
        else:
            t.eq(f"{lot_id} {analyte} below LOD", bool(r.get("below_lod")), False)
            t.eq(f"{lot_id} {analyte} fraction", r.get("fraction"), entry["mean_ppm"] * 1e-6)
            t.eq(f"{lot_id} {analyte} mass mg", r.get("mass_mg"), entry["mean_ppm"] * 1e-6 * mass * 1e6)
    declared = [r for r in rows if r["dsl_ref"] != "junkan:measured"]
    t.eq(f"{lot_id} declared in sources", {r["cas"] or r["substance"] for r in declared}, before_import)
    for r in declared:
        t.eq(f"{lot_id} {r['substance']} presence only", (r["fraction"], r["mass_mg"]), (None, None))


@pytest.mark.parametrize("world", ["truth", "scenarios"])
def test_declaration_round_trip_keeps_every_substance_and_share(request: pytest.FixtureRequest, world: str,
                                                                junkan: Any, gateway_db_url: str, tmp_path: Path,
                                                                capfd: pytest.CaptureFixture[str]) -> None:
    built, lots = worlds(request, world)
    store, db = built["store"], built["db"]
    t = Tally(f"ipc1752a round trip ({world} lots {', '.join(lots)})")
    for lot_id in lots:
        data, _ = produce(store, lot_id, "ipc1752a")  # (matches the camera's pending identifications first)
        sources = source_declared(db, lot_id)  # read before the lot's own record joins the table
        path = tmp_path / f"{lot_id}.ipc1752a.xml"
        path.write_bytes(data)
        res = junkan("gateway", "import-composition", str(path), "--db", gateway_db_url, "--json")
        t.eq(f"{lot_id} import exit", res.returncode, 0)
        report = json.loads(res.stdout)
        (file_report,) = report if isinstance(report, list) else [report]
        t.eq(f"{lot_id} nothing skipped", file_report.get("skipped"), [])
        t.eq(f"{lot_id} nothing unread", file_report.get("unread_elements"), {})
        check_round_trip(t, db, lot_id, sources)
    with capfd.disabled():
        print("\n" + t.summary())
    assert t.checked > 40 and not t.mismatches, (t.summary(), t.mismatches[:10])


def test_round_trip_check_can_fail(truth: dict[str, Any]) -> None:
    """Negative control: a declaration that rounds a share, drops a non-detect's LOD or declares it as a value
    is caught after import."""
    from gateway.composition.importer import import_bytes

    store, db = truth["store"], truth["db"]
    data, _ = produce(store, "MIX-1", "ipc1752a")
    for old, new in ((b'value="0.75261"', b'value="0.7526"'),
                     (b'<jk:Measured belowLOD="true" n="400" nBelowLOD="400" method="XRF (EDXRF, 30 s per object)" '
                      b'UOM="ppm" lod="8.0" />', b'<Amount value="8.0" UOM="ppm" /><jk:Measured belowLOD="false" '
                      b'n="400" nBelowLOD="400" method="XRF (EDXRF, 30 s per object)" UOM="ppm" lod="8.0" />')):
        assert old in data
        report = import_bytes(db, data.replace(old, new), "MIX-1.xml")
        assert report["status"] == "imported"
        t = Tally("negative")
        check_round_trip(t, db, "MIX-1", set())
        assert t.mismatches, new
