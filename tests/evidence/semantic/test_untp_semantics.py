"""UNTP DCC, DTE and DPP mean what the scenario lots are: every exported value is re-derived from the store's
rows and the reference tables in truth.py (not from gateway.evidence) and compared; a one-line summary per
format says how many fields were checked and how many disagreed. Schemas and the signed DPP are checked too."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from gateway.evidence.build import build_evidence
from gateway.evidence.formats import produce, render_as
from gateway.evidence.keys import generate
from tests.evidence.conftest import validator
from tests.evidence.semantic.truth import (
    ELEMENT_CAS,
    ISO_SYMBOL,
    MONO_BB_BR,
    MONO_BDE_BR,
    POPS_ELI,
    POPS_PBDE_LIMIT,
    ROHS_ELI,
    ROHS_LIMIT,
    TETRA_BDE_BR,
    Tally,
    all_below_lod,
    blocked_in_store,
    lab_upper_bounds,
    lineage_steps,
    lot_mass,
    pops_suspect,
    source_split,
    spec_doc,
    stored_measurement,
    worlds,
)

LABEL_TO_ANALYTE = {"total": "Cr", "Cr(VI)": "CrVI"}


def analyte_of(name: str) -> str:
    first = name.split(" ", 1)[0]
    return LABEL_TO_ANALYTE.get(first, first)


def screen_max(entry: dict[str, Any]) -> float | None:
    """What bounds the element's concentration from above: the LOD when every reading is below it, else the
    highest detect, or the LOD when censored readings have a LOD above every detect."""
    if all_below_lod(entry):
        return float(entry["lod_ppm"])
    if entry["max_ppm"] is None:
        return None
    censored_lod = entry["lod_ppm"] if entry["n_below_lod"] and entry["lod_ppm"] is not None else 0.0
    return max(float(entry["max_ppm"]), float(censored_lod))


def bound_truth(analyte: str, contaminants: dict[str, Any], rule: str) -> float | None:
    """The upper bound the screening gives: Cr(VI) <= total Cr; PBDE <= Br / (Br fraction of the Br-poorest
    congener the rule counts: tetraBDE for EU POPs, monoBDE for RoHS); PBB <= Br / (monoBB's)."""
    element = {"CrVI": "Cr", "PBDE": "Br", "PBB": "Br"}.get(analyte)
    entry = contaminants.get(element or "")
    if entry is None or not entry["n"] or (value := screen_max(entry)) is None:
        return None
    if analyte == "PBDE":
        return value / (TETRA_BDE_BR if rule == "POPs" else MONO_BDE_BR)
    return value / MONO_BB_BR if analyte == "PBB" else value


def check_metric(t: Tally, where: str, m: dict[str, Any], meas: dict[str, Any], lab: dict[str, float],
                 rule: str) -> tuple[str, float | None]:
    """One declared value against the stored measurement (and the lab report); returns (analyte, the value a
    limit is judged on)."""
    by_mass, contaminants = meas["composition"]["by_mass"], meas["contaminants"]
    name, value, unit, score = m["metricName"], m["metricValue"]["value"], m["metricValue"]["unit"], m.get("score")
    analyte = analyte_of(name)
    if analyte in by_mass:
        share, (lo, hi) = by_mass[analyte]["share"], by_mass[analyte]["ci95"]
        t.eq(f"{where} {name} unit", unit, "P1")
        t.eq(f"{where} {name} value (percent)", value, 100 * share)
        t.eq(f"{where} {name} accuracy", m.get("accuracy"), max(share - lo, hi - share) / share, tol=1e-4)
        t.eq(f"{where} {name} score", score, None)
        return analyte, share
    t.eq(f"{where} {name} unit", unit, "59")
    key = "PBDE_all" if analyte == "PBDE" and ("'RoHS" in name or rule == "RoHS") else analyte
    if key in lab:  # the lab's sum decides, below-LOD congeners at the LOD
        t.eq(f"{where} {name} score", score, "upper bound")
        t.true(f"{where} {name} says it is the lab's sum", "lab sum" in name)
        t.eq(f"{where} {name} value", value, lab[key])
        return analyte, lab[key]
    if analyte in ("CrVI", "PBDE", "PBB"):
        t.eq(f"{where} {name} score", score, "upper bound")
        t.true(f"{where} {name} says it is not a measurement", "not a" in name and "measurement" in name)
        bound = bound_truth(analyte, contaminants, rule)
        t.eq(f"{where} {name} bound", value, bound, tol=1e-9)
        t.true(f"{where} {name} bound not low", bound is not None and value >= bound * (1 - 1e-12))
        return analyte, bound
    entry = contaminants[analyte]
    if all_below_lod(entry):
        t.eq(f"{where} {name} score", score, "<LOD")
        t.eq(f"{where} {name} value = LOD", value, entry["lod_ppm"])
        return analyte, entry["lod_ppm"]
    stat = next(s for s in ("mean", "p95", "max") if f" {s}" in name)
    if stat == "max" and screen_max(entry) != entry["max_ppm"]:  # censored readings above every detect
        t.eq(f"{where} {name} score", score, "upper bound")
        t.eq(f"{where} {name} value = LOD", value, screen_max(entry))
        return analyte, screen_max(entry)
    t.eq(f"{where} {name} score", score, None)
    t.eq(f"{where} {name} value", value, entry[f"{stat}_ppm"])
    return analyte, screen_max(entry)


def expected_limit(doc: dict[str, Any], analyte: str) -> tuple[float | None, str | None]:
    """The stricter of the spec's own limit and the regulatory default (RoHS / EU POPs as of AS_OF)."""
    candidates: list[tuple[float, str | None]] = [(float(limit["max_ppm"]), None) for limit in doc.get("limits", [])
                                                  if limit["analyte"] == analyte]
    if doc.get("regulatory_defaults", True):
        if analyte in ROHS_LIMIT:
            candidates.append((ROHS_LIMIT[analyte], ROHS_ELI))
        if analyte == "PBDE":
            candidates.append((POPS_PBDE_LIMIT, POPS_ELI))
    if not candidates:
        return None, None
    return min(candidates, key=lambda c: c[0])


def check_spec(t: Tally, db: Any, where: str, a: dict[str, Any], judged: dict[str, float | None],
               meas: dict[str, Any]) -> None:
    """A spec assessment: its regulation, each criterion's limit, and conformance re-judged from the truth."""
    spec_id = a["name"].split("against spec ", 1)[1].split(" ", 1)[0]
    doc = spec_doc(db, spec_id)
    reg = a.get("referenceRegulation")
    criteria = a.get("assessmentCriteria", [])
    ok = bool(criteria)
    for c in criteria:
        analyte = analyte_of(c["name"])
        if analyte == doc["material"] and "mass share" in c["name"]:
            entry = meas["composition"]["by_mass"].get(analyte)
            ok = ok and entry is not None and entry["ci95"][0] >= doc["min_purity"]
            continue
        limit, eli = expected_limit(doc, analyte)
        t.eq(f"{where} {analyte} regulation", reg["id"] if reg else None, eli)
        t.eq(f"{where} {analyte} limit", c["thresholdValue"]["metricValue"], {"value": limit, "unit": "59"})
        value = judged.get(analyte)
        entry = meas["contaminants"].get({"CrVI": "Cr", "PBDE": "Br"}.get(analyte, analyte), {})
        lod = entry.get("lod_ppm")
        ok = ok and limit is not None and value is not None and value <= limit and (lod is None or lod <= limit)
    t.eq(f"{where} conformance", a["conformance"], ok)


def check_dcc(t: Tally, db: Any, lot_id: str, doc: dict[str, Any]) -> None:
    meas = stored_measurement(db, lot_id)
    contaminants = meas["contaminants"]
    split = source_split(db, lot_id)
    assessments = doc["credentialSubject"]["assessment"]
    lab = lab_upper_bounds(db, lot_id)
    t.eq(f"{lot_id} product", {a["assessedProduct"][0]["product"]["batchNumber"] for a in assessments}, {lot_id})
    screened = set()
    for a in assessments:
        where = f"{lot_id} {a['name']}"
        if a["conformityTopic"] == "circularity.content":
            blocked = blocked_in_store(db, lot_id)
            t.eq(f"{where} conformance", a["conformance"], not blocked)
            metrics = {m["metricName"]: m["metricValue"] for m in a["declaredValue"]}
            t.eq(f"{where} net mass", metrics["lot net mass"], {"value": lot_mass(db, lot_id), "unit": "KGM"})
            shares = {n: v for n, v in metrics.items() if "recycled content" in n}
            if blocked:
                t.eq(f"{where} no recycled share while blocked", shares, {})
                t.true(f"{where} says why", "claims blocked" in a["description"])
                continue
            t.eq(f"{where} post-consumer", shares["post-consumer recycled content"],
                 {"value": pytest.approx(100 * (split["post"] + split["elv"])), "unit": "P1"})
            t.eq(f"{where} total", shares["recycled content (pre- and post-consumer)"],
                 {"value": pytest.approx(100 * (split["post"] + split["elv"] + split["pre"])), "unit": "P1"})
            t.eq(f"{where} pre-consumer", shares.get("pre-consumer recycled content"),
                 {"value": pytest.approx(100 * split["pre"]), "unit": "P1"} if split["pre"] else None)
            continue
        reg = (a.get("referenceRegulation") or {}).get("id")
        rule = "POPs" if reg == POPS_ELI else "RoHS" if reg == ROHS_ELI else "spec"
        judged = dict(check_metric(t, where, m, meas, lab, rule) for m in a["declaredValue"])
        if a["name"].startswith("POPs screening"):
            t.eq(f"{where} regulation", (a.get("referenceRegulation") or {}).get("id"), POPS_ELI)
            t.eq(f"{where} conformance (clear or cleared by the lab)", a["conformance"], not pops_suspect(db, lot_id))
            br = contaminants.get("Br")
            t.eq(f"{where} Br screening value", "Br" in judged, bool(br and br["n"]))
        elif a["name"].startswith("Contaminant screening"):
            screened = {analyte_of(m["metricName"]) for m in a["declaredValue"]}
            flagged = any(th["flag"] for e in contaminants.values() for th in e["thresholds"].values())
            t.eq(f"{where} conformance", a["conformance"], not flagged and not pops_suspect(db, lot_id))
        else:
            check_spec(t, db, where, a, judged, meas)
    t.eq(f"{lot_id} screening covers every screened analyte", screened,
         {a for a, e in contaminants.items() if e["n"] and (e["lod_ppm"] is not None or not all_below_lod(e))})


def check_dte(t: Tally, db: Any, lot_id: str, doc: dict[str, Any]) -> None:
    meas = stored_measurement(db, lot_id)
    events = doc["credentialSubject"]
    sensed = [d for e in events for s in e.get("sensorElementList", []) for d in s["sensorReport"]]
    # attribution: an element names a device only if that one device stored the readings of its kind
    kinds = {"analyte=": "xrf", "PolymerMassShare": "nir_object", "voc/Mass": "weighing"}
    for e in events:
        for s in e.get("sensorElementList", []):
            kind = next((k for marker, k in kinds.items() if marker in s["sensorReport"][0]["sensorType"]), None)
            if kind is None:
                continue
            devices = {r["device"] for r in db.rows("SELECT DISTINCT device FROM readings WHERE lot_id = ? AND "
                                                    "kind = ?", [lot_id, kind])}
            named = s.get("sensorMetadata", {}).get("device", {}).get("id")
            t.eq(f"{lot_id} DTE {kind} device", named.rsplit(":", 1)[1] if named else None,
                 next(iter(devices)) if len(devices) == 1 else None)
    by_analyte: dict[str, dict[str, Any]] = {}
    for d in sensed:
        query = parse_qs(urlsplit(d["sensorType"]).query)
        if "analyte" in query:
            analyte = query["analyte"][0]
            t.eq(f"{lot_id} DTE {analyte} CAS", query.get("chemicalSubstance"),
                 [f"https://identifiers.org/CAS:{ELEMENT_CAS[analyte]}"])
            by_analyte.setdefault(analyte, {})[query["statistic"][0]] = (d["value"], d["uom"])
    t.eq(f"{lot_id} DTE analytes (with readings)", set(by_analyte), {a for a, e in meas["contaminants"].items()
                                                                    if e["n"]})
    for analyte, entry in meas["contaminants"].items():
        got = by_analyte.get(analyte, {})
        if not entry["n"]:
            continue  # no readings: nothing to report (checked above: the analyte is absent)
        t.eq(f"{lot_id} DTE {analyte} n", got.get("n"), (entry["n"], "C62"))
        t.eq(f"{lot_id} DTE {analyte} nBelowLOD", got.get("nBelowLOD"), (entry["n_below_lod"], "C62"))
        if all_below_lod(entry):
            t.eq(f"{lot_id} DTE {analyte} statistics", set(got), {"n", "nBelowLOD", "belowLOD"})
            t.eq(f"{lot_id} DTE {analyte} below LOD", got.get("belowLOD"), (entry["lod_ppm"], "59"))
            continue
        top = ({"maxDetected": entry["max_ppm"], "maxUpperBound": screen_max(entry)}
               if screen_max(entry) != entry["max_ppm"] else {"max": entry["max_ppm"]})
        want = {"mean": entry["mean_ppm"], "p95": entry["p95_ppm"], **top}
        if entry["n_below_lod"]:
            want["lod"] = entry["lod_ppm"]
        t.eq(f"{lot_id} DTE {analyte} statistics", set(got) - {"n", "nBelowLOD"},
             {k for k, v in want.items() if v is not None})
        for stat, value in want.items():
            if value is not None:
                t.eq(f"{lot_id} DTE {analyte} {stat}", got.get(stat), (value, "59"))
    shares = {unquote(d["sensorType"].rsplit("#", 1)[1]): (d["value"], d["uom"]) for d in sensed
              if "#" in d["sensorType"]}
    t.eq(f"{lot_id} DTE polymer shares", shares,
         {ISO_SYMBOL[p]: (pytest.approx(100 * m["share"]), "P1") for p, m in meas["composition"]["by_mass"].items()})
    want_steps = set()
    for step in lineage_steps(db, lot_id):
        flows = db.rows("SELECT direction, lot_id, mass_kg FROM process_flows WHERE step_id = ?", [step])
        want_steps.add(tuple(frozenset((f"urn:junkan:lot:{f['lot_id']}", f["mass_kg"], "KGM") for f in flows
                                       if f["direction"] == d) for d in ("in", "out")))
    got_steps = {tuple(frozenset((q["productId"], q["quantity"], q["uom"]) for q in e[k])
                       for k in ("inputQuantityList", "outputQuantityList"))
                 for e in events if e["type"][0] == "TransformationEvent"}
    t.eq(f"{lot_id} DTE steps (inputs, outputs)", got_steps, want_steps)
    intake = {r["lot_id"]: r["net_mass_kg"] for r in db.rows("SELECT lot_id, net_mass_kg FROM intake_lots")}
    for e in events:
        if e.get("bizStep", "").endswith("receiving"):
            (q,) = e["quantityList"]
            src = q["productId"].rsplit(":", 1)[1]
            kg = intake[src] if intake[src] is not None else sum(  # not weighed at intake: what the steps took in
                float(db.scalar("SELECT COALESCE(SUM(mass_kg), 0) FROM process_flows WHERE step_id = ? AND lot_id = ? "
                                "AND direction = 'in'", [step, src])) for step in lineage_steps(db, lot_id))
            t.eq(f"{lot_id} DTE intake {src}", q["quantity"], kg)


def check_dpp(t: Tally, db: Any, lot_id: str, doc: dict[str, Any], dcc: bytes, dte: bytes) -> None:
    meas = stored_measurement(db, lot_id)
    mass = lot_mass(db, lot_id)
    subject = doc["credentialSubject"]
    split = source_split(db, lot_id)
    blocked = blocked_in_store(db, lot_id)
    recycled = None if blocked else split["post"] + split["elv"] + split["pre"]
    t.eq(f"{lot_id} DPP batch", subject["product"]["batchNumber"], lot_id)
    t.eq(f"{lot_id} DPP weight", subject["product"]["dimensions"]["weight"], {"value": mass, "unit": "KGM"})
    t.eq(f"{lot_id} DPP granularity", subject["granularityLevel"], "batch")
    by_mass = meas["composition"]["by_mass"]
    materials = {m["name"]: m for m in subject["materialsProvenance"]}
    t.eq(f"{lot_id} DPP materials", set(materials), {ISO_SYMBOL[p] for p in by_mass})
    for polymer, entry in by_mass.items():
        m = materials.get(ISO_SYMBOL[polymer], {})
        t.eq(f"{lot_id} DPP {polymer} massFraction", m.get("massFraction"), entry["share"])
        t.eq(f"{lot_id} DPP {polymer} mass", m.get("mass"), {"value": pytest.approx(entry["share"] * mass, abs=1e-6),
                                                               "unit": "KGM"})  # kg to 6 decimals
        t.eq(f"{lot_id} DPP {polymer} recycledMassFraction", m.get("recycledMassFraction"),
             None if recycled is None else pytest.approx(recycled))
    t.eq(f"{lot_id} DPP recycledContent", subject["circularityScorecard"].get("recycledContent"),
         None if recycled is None else pytest.approx(recycled))
    dcc_doc = json.loads(dcc)
    assessed = {a["id"]: a for a in dcc_doc["credentialSubject"]["assessment"]}
    t.eq(f"{lot_id} DPP claims = DCC assessments", {c["id"] for c in subject["conformityClaim"]}, set(assessed))
    for claim in subject["conformityClaim"]:
        a = assessed.get(claim["id"], {})
        for key in ("conformance", "conformityTopic", "declaredValue"):
            t.eq(f"{lot_id} DPP claim {a.get('name')} {key}", claim[key], a.get(key))
        t.eq(f"{lot_id} DPP claim evidence hash", claim["conformityEvidence"]["hashDigest"],
             hashlib.sha256(dcc).hexdigest())
    (trace,) = subject["traceabilityInformation"]
    t.eq(f"{lot_id} DPP verifiedRatio (traced share)", trace["verifiedRatio"], 1.0 - split["unknown"])
    t.eq(f"{lot_id} DPP DTE hash", trace["traceabilityEvent"][0]["hashDigest"], hashlib.sha256(dte).hexdigest())


@pytest.mark.parametrize("world", ["truth", "scenarios"])
def test_untp_exports_mean_what_the_store_says(request: pytest.FixtureRequest, world: str, shared_dir: Path,
                                               gateway_db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """``gateway_db_url``: the store follows --gateway-db (a postgres run keeps this test)."""
    built, lots = worlds(request, world)
    store, db = built["store"], built["db"]
    schemas = {f: validator(shared_dir, f"untp/untp-{f}-schema-0.6.1.json") for f in ("dcc", "dte", "dpp")}
    tallies = {f: Tally(f"untp-{f} ({world} lots {', '.join(lots)})") for f in ("dcc", "dte", "dpp")}
    for lot_id in lots:
        ev = build_evidence(store, db, lot_id)
        docs = {f: render_as(ev, f"untp-{f}") for f in ("dcc", "dte", "dpp")}
        for f, data in docs.items():
            tallies[f].eq(f"{lot_id} {f} schema errors",
                          [e.message[:120] for e in schemas[f].iter_errors(json.loads(data))], [])
        check_dcc(tallies["dcc"], db, lot_id, json.loads(docs["dcc"]))
        check_dte(tallies["dte"], db, lot_id, json.loads(docs["dte"]))
        check_dpp(tallies["dpp"], db, lot_id, json.loads(docs["dpp"]), docs["dcc"], docs["dte"])
    with capsys.disabled():
        for t in tallies.values():
            print("\n" + t.summary())
    for t in tallies.values():
        assert t.checked > 50 and not t.mismatches, (t.summary(), t.mismatches[:10])


def test_the_semantic_checks_can_fail(truth: dict[str, Any]) -> None:
    """Negative control: the DCC's old readings (a 0..1 share as percent, a LOD as a measured value, a Br bound
    as a declared PBDE value, a blocked lot's share) are each caught."""
    store, db = truth["store"], truth["db"]
    doc = json.loads(render_as(build_evidence(store, db, "MIX-1"), "untp-dcc"))
    spec = doc["credentialSubject"]["assessment"]
    for break_it in ("share", "lod", "bound"):
        bad = json.loads(json.dumps(doc))
        for a in bad["credentialSubject"]["assessment"]:
            for m in a["declaredValue"]:
                if break_it == "share" and m["metricValue"]["unit"] == "P1" and "mass share" in m["metricName"]:
                    m["metricValue"]["value"] /= 100
                if break_it == "lod" and m.get("score") == "<LOD":
                    del m["score"]
                if break_it == "bound" and m.get("score") == "upper bound":
                    m["metricName"] = m["metricName"].split(" ", 1)[0] + " max"
                    del m["score"]
        t = Tally("negative")
        check_dcc(t, db, "MIX-1", bad)
        assert t.mismatches, break_it
    assert spec
    blocked = json.loads(render_as(build_evidence(store, db, "BLK-1"), "untp-dcc"))
    content = next(a for a in blocked["credentialSubject"]["assessment"]
                   if a["conformityTopic"] == "circularity.content")
    content["conformance"] = True
    t = Tally("negative")
    check_dcc(t, db, "BLK-1", blocked)
    assert t.mismatches


def test_signed_dpp_verifies_with_the_plant_key(truth: dict[str, Any], tmp_path: Path, shared_dir: Path) -> None:
    from junkan.verify import verify

    key = generate(tmp_path / "keys", {"name": "Plant A", "id": "did:web:plant-a.example"})
    (tmp_path / "plant.pem").write_bytes(key.public_pem())
    data, media = produce(truth["store"], "PRE-1", "untp-dpp-vc", tmp_path / "keys")
    assert media == "application/vc+ld+json"
    path = tmp_path / "PRE-1.dpp.vc.json"
    path.write_bytes(data)
    code, line = verify(str(path), key=str(tmp_path / "plant.pem"))
    assert code == 0, line
    wrapper = json.loads(data)
    token = wrapper["id"].removeprefix("data:application/vc+jwt,")
    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert payload["type"] == ["DigitalProductPassport", "VerifiableCredential"]
    assert [e.message for e in validator(shared_dir, "untp/untp-dpp-schema-0.6.1.json").iter_errors(payload)] == []
    tampered = tmp_path / "tampered.json"
    head, _body, sig = token.split(".")
    payload["credentialSubject"]["circularityScorecard"]["recycledContent"] = 1.0
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    tampered.write_text(json.dumps({**wrapper, "id": f"data:application/vc+jwt,{head}.{forged}.{sig}"}))
    assert verify(str(tampered), key=str(tmp_path / "plant.pem"))[0] == 1
    assert verify(str(path))[0] == 2  # no trusted key: refused, whatever the token carries


@pytest.mark.parametrize("digital_link", [False, True])
def test_lot_ids_follow_the_plants_gs1_keys(scenarios: dict[str, Any], digital_link: bool) -> None:
    """With GS1 keys the DCC's assessed product and the DPP's product and passport are the lot's LGTIN (EPC
    URN or Digital Link, check digits computed by the EPCIS suite's own mod10), without them the private URN;
    a lot id GS1 cannot carry keeps the private URN."""
    from tests.evidence.semantic.test_epcis_semantics import GS1, PLAIN, want_lot_uri

    keys = GS1.gs1.model_copy(update={"lot_uri": "digital_link" if digital_link else "epc_urn"})  # type: ignore[union-attr]
    for issuer in (PLAIN, GS1.model_copy(update={"gs1": keys})):
        for lot_id in ("MIX-1", "PP-OUT-1"):
            ev = build_evidence(scenarios["store"], scenarios["db"], lot_id, issuer=issuer)
            want = want_lot_uri(lot_id, issuer)
            dcc = json.loads(render_as(ev, "untp-dcc"))
            dpp = json.loads(render_as(ev, "untp-dpp"))
            assert {a["assessedProduct"][0]["product"]["id"] for a in dcc["credentialSubject"]["assessment"]} == {want}
            assert (dpp["credentialSubject"]["product"]["id"], dpp["credentialSubject"]["id"]) == (want, want)
            assert dcc["credentialSubject"]["issuedToParty"]["id"] == issuer.id  # no recycler: issued to itself
            dte = json.loads(render_as(ev, "untp-dte"))
            named = {(q["productId"], q["productName"]) for e in dte["credentialSubject"]
                     for key in ("quantityList", "outputQuantityList", "inputQuantityList") for q in e.get(key) or []}
            assert (want, f"lot {lot_id}") in named  # the DTE names the lot as the DCC does, by its id
