"""Evidence in every format; EPCIS, UNTP and Catena-X validate against the shared schemas (with formats)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gateway.evidence.build import build_evidence
from gateway.evidence.exporters import EXPORTERS
from gateway.evidence.formats import produce, render_as
from gateway.evidence.keys import generate
from gateway.specs.model import RequirementSpec
from gateway.specs.repo import save_spec
from gateway.store.db import Database
from junkan.core.schemas import schema
from tests.evidence.plant import T0, store_lot
from tests.measurements import wire_measurement

SCHEMA_FORMATS = ("epcis", "untp-dcc", "untp-dte", "untp-dpp", "catenax")


def errors(validator: Any, doc: dict[str, Any]) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(doc)]


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    generate(tmp_path / "keys", {"name": "Plant A", "id": "did:web:plant-a.example"})
    return tmp_path / "keys"


@pytest.mark.parametrize("lot", ["PP-OUT-1", "PP-RECYCLATE-1", "BFR-1", "IN-2"])
def test_every_format_and_schemas(plant: dict[str, Any], schemas: dict[str, Any], keys: Path, lot: str) -> None:
    save_spec(plant["db"], RequirementSpec(spec_id="pp-auto", buyer="Car Parts Co", material="PP", min_purity=0.95))
    for fmt in EXPORTERS:
        data, media = produce(plant["store"], lot, fmt, keys)
        assert data and media
        if fmt in SCHEMA_FORMATS:
            assert errors(schemas[fmt], json.loads(data)) == [], fmt
    pdf, _ = produce(plant["store"], lot, "pdf", keys)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    html, _ = produce(plant["store"], lot, "html", keys)
    assert lot.encode() in html
    assert (b"<svg" in html) == (lot == "PP-OUT-1")  # the composition chart needs a measured composition


def test_demo_style_lot_without_lineage_still_validates(gateway_store: Any, schemas: dict[str, Any], keys: Path
                                                        ) -> None:
    store_lot(gateway_store, "DEMO-1", 412.5, {}, [], T0)  # a scale-only lot, as `junkan demo` makes
    ev = json.loads(produce(gateway_store, "DEMO-1", "json", keys)[0])
    assert ev["origin"]["status"] == "untraced" and ev["composition"] == {"status": "insufficient_data"}
    assert ev["claims"]["blocked"] and ev["chain_of_custody"]["model"] == "mass_balance"
    assert len(ev["data_gaps"]) == 4  # composition, contaminants, origin, and no Br screening to exclude BFRs
    for fmt in SCHEMA_FORMATS:
        assert errors(schemas[fmt], json.loads(produce(gateway_store, "DEMO-1", fmt, keys)[0])) == [], fmt
    with pytest.raises(KeyError):
        produce(gateway_store, "NO-SUCH-LOT", "json", keys)


def test_epcis_content(plant: dict[str, Any]) -> None:
    ev = build_evidence(plant["store"], plant["db"], "PP-OUT-1")
    doc = json.loads(render_as(ev, "epcis"))
    events = doc["epcisBody"]["eventList"]
    kinds = [(e["type"], e.get("bizStep")) for e in events]
    assert kinds.count(("TransformationEvent", "disassembling")) == 1  # DIS (CBV's own dismantling example)
    assert kinds.count(("TransformationEvent", "creating_class_instance")) == 2  # SHR, SRT
    assert kinds.count(("ObjectEvent", "receiving")) == 2
    meas = next(e for e in events if e.get("bizStep") == "inspecting")
    reports = [r for element in meas["sensorElementList"] for r in element["sensorReport"]]
    mass = next(r for r in reports if r["type"] == "Mass")
    br = next(r for r in reports if r.get("chemicalSubstance") == "https://identifiers.org/CAS:7726-95-6")
    assert mass == {"type": "Mass", "value": 7.0, "uom": "KGM", "time": mass["time"], "rcy:feature": "net"}
    assert br["type"] == "Dimensionless" and br["uom"] == "59" and br["maxValue"] == 180.0
    assert br["percRank"] == 95 and br["percValue"] == 120.0


def test_schema_checks_can_fail(plant: dict[str, Any], schemas: dict[str, Any]) -> None:
    """Negative controls: the validators really check what the outputs are claimed to satisfy."""
    ev = build_evidence(plant["store"], plant["db"], "PP-OUT-1")
    doc = json.loads(render_as(ev, "epcis"))
    bad = copy.deepcopy(doc)
    bad["epcisBody"]["eventList"][-2]["bizStep"] = "transforming"  # not a CBV word, not a URI
    assert errors(schemas["epcis"], bad)
    bad = copy.deepcopy(doc)
    bad["epcisBody"]["eventList"][-1]["sensorElementList"][0]["sensorReport"][0]["type"] = "https://gs1.org/voc/Mass"
    assert errors(schemas["epcis"], bad)
    dte = json.loads(render_as(ev, "untp-dte"))
    dte["credentialSubject"][0]["action"] = "ADD"
    assert errors(schemas["untp-dte"], dte)
    dcc = json.loads(render_as(ev, "untp-dcc"))
    dcc["validFrom"] = "yesterday"
    assert errors(schemas["untp-dcc"], dcc)
    cx = json.loads(render_as(ev, "catenax"))
    cx["secondaryMaterialContent"][0]["unitOfMeasure"]["unitOfMeasureKey"] = "kg"
    assert errors(schemas["catenax"], cx)


def test_evidence_sections(plant: dict[str, Any]) -> None:
    db: Database = plant["db"]
    ev = build_evidence(plant["store"], db, "PP-OUT-1").as_json()
    assert ev["origin"]["status"] == "traced" and ev["origin"]["post_consumer_share"] == 1.0
    assert ev["chain_of_custody"]["model"] == "segregated" and not ev["claims"]["blocked"]
    # decaBDE declared in the TVs' HIPS-FR covers makes it POPs-suspect; the plant's GC-MS result clears it
    assert ev["screening"]["status"] == "lab_confirmed" and ev["screening"]["lab"]["result"] == "pass"
    deca = next(s for s in ev["declared_substances"]["substances"] if s["cas"] == "1163-19-5")
    assert deca["can_carry_over"] and set(deca["declared_in_models"]) == {"AZ-32LX1", "AZ-50LX3"}
    tv_share = sum(m["share"] for m in ev["origin"]["models"] if m["model"] in ("AZ-32LX1", "AZ-50LX3"))
    assert deca["source_share"] == pytest.approx(tv_share, abs=1e-5)
    lead = next(s for s in ev["declared_substances"]["substances"] if s["cas"] == "7439-92-1")
    assert lead["can_carry_over"] is False  # only in solder
    assert {d["device"] for d in ev["devices"]} == {"scale-pp", "nir-1", "xrf-1"}
    assert all(d["calibration"] == {"status": "not_reported"} for d in ev["devices"])
    assert ev["mass_balance"]["ok"] and len(ev["mass_balance"]["steps"]) == 3
    assert ev["origin"]["identifications"] == {"IN-1": {"gtin": 1, "exact": 2, "normalised": 2, "unmatched": 1}}


def test_markup_in_data_cannot_break_or_inject_into_html_pdf(gateway_store: Any, keys: Path) -> None:
    hostile = wire_measurement(contaminants={"Br": {"n": 3, "n_below_lod": 0, "max_ppm": 10.0,
                                                    "method": "XRF <b>fast</b> <script>alert(1)</script> <para>x & y"}},
                               composition={"scope": "<script>alert(2)</script>"})
    store_lot(gateway_store, "ODD-1", 10.0, hostile, [], T0)
    save_spec(gateway_store.db, RequirementSpec(spec_id="s1", buyer="A & B <Co>", material="PP"))
    pdf, _ = produce(gateway_store, "ODD-1", "pdf", keys)
    assert pdf.startswith(b"%PDF-")
    html, _ = produce(gateway_store, "ODD-1", "html", keys)
    assert b"<script>" not in html and b"&lt;para&gt;x &amp; y" in html


@pytest.mark.parametrize("lot", ["PP-OUT-1", "IN-2"])
def test_json_evidence_validates_against_its_own_schema(plant: dict[str, Any], keys: Path, lot: str) -> None:
    doc = schema("junkan.evidence.v1.json")
    validator = jsonschema.validators.validator_for(doc)(doc)
    ev = json.loads(produce(plant["store"], lot, "json", keys)[0])
    assert [e.message for e in validator.iter_errors(ev)] == []
    ev["composition"] = {"status": "measured"}
    assert list(validator.iter_errors(ev))
