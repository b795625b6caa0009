"""Composition files laid out as independent tools write them (tests/evidence/data/thirdparty, hand-written):
nothing regulated is lost, and the per-file report says what was read, skipped and why."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from gateway.composition import repo
from gateway.composition.importer import import_bytes, import_path, parse_file

DATA = Path(__file__).parent / "data" / "thirdparty"
PB = "7439-92-1"


def subs_of(product: Any) -> list[Any]:
    return [s for part in product.parts for m in part.materials for s in m.substances]


def test_product_mass_inside_productid() -> None:
    fmt, result = parse_file((DATA / "ipc1752a_mass_in_productid.xml").read_bytes(), "tp")
    (tv,) = result.products
    assert fmt == "ipc1752a" and tv.mass_mg == 14.2e6 and tv.manufacturer == "Sakura Denki K.K."
    assert not any("product mass missing" in w.reason for w in result.warnings)
    assert subs_of(tv)[0].fraction == pytest.approx(0.09) and subs_of(tv)[0].mass_mg == pytest.approx(207_000)


def test_subproduct_materials_and_bad_cas_kept_flagged() -> None:
    _, result = parse_file((DATA / "ipc1752b_subproduct.xml").read_bytes(), "tp")
    (fan,) = result.products
    names = [p.name for p in fan.parts]
    assert names == ["Blade", "Hub screw M4 / Free-cutting brass", "Control board / Solder"]
    screw_pb = fan.parts[1].materials[0].substances[0]
    assert (screw_pb.cas, screw_pb.fraction, screw_pb.mass_mg) == (PB, pytest.approx(0.035), pytest.approx(112.0))
    solder_pb = fan.parts[2].materials[0].substances[0]
    assert solder_pb.name == "Lead" and solder_pb.mass_mg == pytest.approx(90.0)
    assert solder_pb.cas == "7439-92-2" and solder_pb.flags[0].startswith("cas_invalid")
    assert any("check digit" in w.reason for w in result.warnings) and not result.skipped


def test_class_c_threshold_statements_become_presence_only_substances() -> None:
    _, result = parse_file((DATA / "ipc1752a_classC_threshold.xml").read_bytes(), "tp")
    (spk,) = result.products
    subs = subs_of(spk)
    assert spk.declaration_class == "C" and spk.mass_mg == 4.8e6
    assert [(s.name, s.cas, s.declared) for s in subs] == [
        ("Lead/Lead Compounds", PB, "above_threshold"),
        ("Polybrominated Diphenylethers (PBDEs)", None, "above_threshold")]
    assert subs[0].exemption == "6(c)" and subs[0].flags == ["cas_from_group_name"]
    assert subs[0].dsl_ref == "IPC:EU RoHS Directive 2011/65/EU:2015/863"
    below = [w for w in result.warnings if "below threshold" in w.reason]
    assert len(below) == 2  # Cd and Hg: read and reported, nothing to store


def shai(name: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.write(DATA / name, name)
    return buf.getvalue()


def test_chemsherpa_dsdsg_groups_nested_parts_and_compliance() -> None:
    fmt, result = parse_file(shai("chemsherpa_dsdsg.xml"), "lid.shai")
    (lid,) = result.products
    assert fmt == "chemsherpa-ai" and lid.mass_mg == 640_000
    assert [p.name for p in lid.parts] == ["Lid", "Lid / Hinge pin", "(declared, material not stated)"]
    pin_pb = lid.parts[1].materials[0].substances[0]
    assert (pin_pb.cas, pin_pb.fraction, pin_pb.dsl_ref) == (PB, pytest.approx(0.025), "IEC62474:IEC62474-0010:D31.00")
    declared = lid.parts[2].materials[0].substances
    assert [(s.name, s.declared, s.cas) for s in declared] == [("Lead/lead compounds", "above_threshold", PB)]
    assert any("HBCDD" in w.record and "below threshold" in w.reason for w in result.warnings)


def test_per_file_report_counts_what_was_read_and_names_unread_elements(gateway_store: Any) -> None:
    db = gateway_store.db
    report = import_path(db, DATA / "ipc1752b_subproduct.xml")
    assert report["status"] == "imported" and report["read"] == [{
        "product_id": "KZ-FAN-30", "model": "KZ-FAN-30", "mass_mg": 2.6e6, "declaration_class": "D", "parts": 3,
        "materials": 3, "substances": 2, "substances_flagged": 1, "substances_presence_only": 0,
        "substances_below_lod": 0}]
    rows = repo.substances_of(db, ["KZ-FAN-30"])
    assert sorted(r["cas"] for r in rows) == [PB, "7439-92-2"]  # both Pb entries stored
    odd = (DATA / "ipc1752a_mass_in_productid.xml").read_bytes().replace(
        b"</ipc:MaterialInfo>", b"</ipc:MaterialInfo><ipc:RecycledContent value='20'/>")
    odd_report = import_bytes(db, odd, "odd.xml")
    assert odd_report["unread_elements"] == {"Authorizer": 1, "RecycledContent": 1}
    assert any("RecycledContent" in w["record"] and "not read" in w["reason"] for w in odd_report["warnings"])


def test_cli_json_report_per_file(gateway_db_url: str, junkan: Any) -> None:
    files = [str(DATA / n) for n in ("ipc1752a_classC_threshold.xml", "ipc1752b_subproduct.xml")]
    res = junkan("gateway", "import-composition", *files, "--db", gateway_db_url, "--json")
    assert res.returncode == 0, res.stderr
    reports = [json.loads(line) for line in res.stdout.splitlines()]
    assert [r["read"][0]["substances"] for r in reports] == [2, 2]
    assert [r["read"][0]["substances_presence_only"] for r in reports] == [2, 0]
