"""GS1 keys: check digits against keys GS1 itself publishes, EPC URNs against the Tag Data Standard's own
examples, the settings refusing what GS1 refuses, and EPCIS naming lots/sites by them only when configured."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gateway.evidence import gs1
from gateway.evidence.build import build_evidence
from gateway.evidence.epcis import epcis_document
from gateway.evidence.identity import gs1_keys, issuer_of
from gateway.settings import GatewaySettings, Gs1Settings, SettingsError, load_settings
from junkan.core.evidence import Issuer

# Published GS1 keys (each valid as printed): GS1 Digital Link / EPCIS 2.0 examples (GTIN 09506000134352,
# GLN 9506000134307 in shared/standards/epcis/examples), the TDS examples ((01)80614141123458 <->
# urn:epc:id:sgtin:0614141.812345.6789, (414)0614141123452 <-> urn:epc:id:sgln:0614141.12345.5678,
# (01)04012345123456(10)998877 <-> urn:epc:class:lgtin:4012345.012345.998877), GS1 Germany's 4012345000009,
# and codes_check_digits' published GLN 9436465792104.
PUBLISHED = ["09506000134352", "9506000134307", "80614141123458", "0614141123452", "04012345123456",
             "4012345000009", "9436465792104"]


@pytest.mark.parametrize("key", PUBLISHED)
def test_check_digit_of_published_keys(key: str) -> None:
    assert gs1.check_digit(key[:-1]) == key[-1]
    assert gs1.is_valid(key)
    wrong = key[:-1] + str((int(key[-1]) + 1) % 10)
    assert not gs1.is_valid(wrong)


def test_check_digit_is_the_mod10_3_1_rule_written_out() -> None:
    """The rule by hand on 950600013435_: odd positions from the right weigh 3."""
    body = "0950600013435"
    weights = [3 if i % 2 == 0 else 1 for i in range(len(body))][::-1]
    total = sum(int(d) * w for d, w in zip(body, weights, strict=True))
    assert str((10 - total % 10) % 10) == "2" == gs1.check_digit(body)


def test_epc_urns_match_the_tag_data_standard_examples() -> None:
    assert gs1.lgtin_urn("4012345", "04012345123456", "998877") == "urn:epc:class:lgtin:4012345.012345.998877"
    assert gs1.sgln_urn("0614141", "0614141123452", "5678") == "urn:epc:id:sgln:0614141.12345.5678"
    assert gs1.gtin14("0614141", "12345", "8") == "80614141123458"
    assert gs1.gln("0614141", "12345") == "0614141123452"
    assert gs1.lgtin_digital_link("09506000134352", "AB/1") == "https://id.gs1.org/01/09506000134352/10/AB%2F1"


def test_what_gs1_cannot_carry_is_refused() -> None:
    assert gs1.lot_number_problem("L" * 20) is None
    assert "20" in (gs1.lot_number_problem("L" * 21) or "")
    assert gs1.lot_number_problem("lot#1") is not None  # '#' is not in CSET 82
    with pytest.raises(gs1.Gs1Error, match="6 to 12"):
        gs1.check_prefix("49123")
    with pytest.raises(gs1.Gs1Error, match="12 digits"):
        gs1.gtin14("4912345", "0001")
    with pytest.raises(gs1.Gs1Error, match="not a valid GTIN-14"):
        gs1.lgtin_urn("4012345", "04012345123457", "A1")  # wrong check digit


def test_settings_validate_and_compute_the_keys(tmp_path: Path) -> None:
    g = Gs1Settings(company_prefix="4912345", item_reference="00001", location_reference="00002")
    assert g.gtin == "0" + "491234500001" + gs1.check_digit("0491234500001") and gs1.is_valid(g.gtin)
    assert g.gln is not None and gs1.is_valid(g.gln) and g.gln.startswith("491234500002")
    for bad in ({"company_prefix": "49123", "item_reference": "0000001"},  # 5 digits
                {"company_prefix": "4912345", "item_reference": "001"},  # 10 digits in all
                {"company_prefix": 4912345, "item_reference": "00001"},  # YAML int: leading zeros would be lost
                {"company_prefix": "49I2345", "item_reference": "00001"},
                {"company_prefix": "4912345", "item_reference": "00001", "location_reference": "2"}):
        with pytest.raises(ValueError):
            Gs1Settings.model_validate(bad)
    path = tmp_path / "gw.yaml"
    path.write_text('gs1: {company_prefix: "4912345", item_reference: "00001"}\n', encoding="utf-8")
    assert load_settings(path).gs1 == Gs1Settings(company_prefix="4912345", item_reference="00001")
    path.write_text("gs1: {company_prefix: 4912345, item_reference: '00001'}\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="company_prefix"):
        load_settings(path)
    assert GatewaySettings().gs1 is None and gs1_keys(GatewaySettings()) is None


def _doc(plant: dict[str, Any], issuer: Issuer, lot: str = "PP-OUT-1") -> dict[str, Any]:
    ev = build_evidence(plant["store"], plant["db"], lot, issuer=issuer)
    return json.loads(json.dumps(epcis_document(ev)))


def _classes(doc: dict[str, Any]) -> set[str]:
    out = set()
    for e in doc["epcisBody"]["eventList"]:
        for key in ("quantityList", "inputQuantityList", "outputQuantityList"):
            out |= {q["epcClass"] for q in e.get(key, [])}
    return out


def test_epcis_names_lots_and_site_by_gs1_only_when_configured(plant: dict[str, Any],
                                                               schemas: dict[str, Any]) -> None:
    plain = _doc(plant, Issuer(name="Plant A", id="did:web:plant-a.example"))
    assert all(c.startswith("urn:junkan:lot:") for c in _classes(plain))
    settings = GatewaySettings.model_validate({"gs1": {"company_prefix": "4912345", "item_reference": "00001",
                                                       "location_reference": "00002"}})
    issuer = issuer_of(settings)
    assert issuer.gs1 is not None
    doc = _doc(plant, issuer)
    assert list(schemas["epcis"].iter_errors(doc)) == []
    gtin = "0" + "491234500001" + gs1.check_digit("0491234500001")
    for c in _classes(doc):  # every lot id of the fixture fits AI (10)
        lot = c.rsplit(".", 1)[1]
        assert c == f"urn:epc:class:lgtin:4912345.0{gtin[8:13]}.{lot}", c
    meas = doc["epcisBody"]["eventList"][-1]
    assert meas["readPoint"]["id"] == "urn:epc:id:sgln:4912345.00002.line-1"
    link = _doc(plant, issuer.model_copy(update={"gs1": issuer.gs1.model_copy(update={"lot_uri": "digital_link"})}))
    assert f"https://id.gs1.org/01/{gtin}/10/PP-OUT-1" in _classes(link)
    assert list(schemas["epcis"].iter_errors(link)) == []


def test_a_lot_id_gs1_cannot_carry_keeps_its_private_urn(plant: dict[str, Any]) -> None:
    from tests.evidence.plant import T0, store_lot

    long_id = "line-1-20260302-080000-ABCD"  # what an agent names a lot: 27 characters > AI (10)'s 20
    store_lot(plant["store"], long_id, 3.0, {}, [], T0)
    issuer = issuer_of(GatewaySettings.model_validate({"gs1": {"company_prefix": "4912345",
                                                               "item_reference": "00001"}}))
    doc = _doc(plant, issuer, long_id)
    assert _classes(doc) == {f"urn:junkan:lot:{long_id}"}


def test_the_gs1_keys_reach_offline_exports_through_the_keyring(tmp_path: Path) -> None:
    """`serve` writes the settings' GS1 keys into the keyring's issuer, which the CLI export reads; a DID given
    to `keys generate --did` stands while the GS1 keys follow the settings, and removing them removes them."""
    from gateway.evidence import keys
    from gateway.evidence.identity import ensure_identity

    folder = tmp_path / "keys"
    keys.generate(folder, {"name": "Plant A", "id": "did:web:plant-a.example"})
    with_gs1 = GatewaySettings.model_validate({"gs1": {"company_prefix": "4912345", "item_reference": "00001",
                                                       "location_reference": "00002"}})
    key = ensure_identity(with_gs1, folder)
    assert key is not None and key.issuer.id == "did:web:plant-a.example"
    assert key.issuer.gs1 is not None and key.issuer.gs1.gtin == "04912345000019"
    assert key.issuer.gs1.gln == "4912345000026"
    assert keys.load_ring(folder).issuer.gs1 == key.issuer.gs1
    again = ensure_identity(GatewaySettings(), folder)
    assert again is not None and again.issuer.gs1 is None and again.issuer.id == "did:web:plant-a.example"
