"""Who signed it: `junkan verify` trusts only a key the user gives (PEM, the plant's DID document, a pinned
trust file), never a key the token carries; the DID document, revocation list and context come from the
gateway; signatures are also checked by independent JOSE code (jwcrypto, and Ed25519 in `cryptography`)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.evidence import keys
from gateway.evidence.signing import sign
from gateway.settings import GatewaySettings

DID = "did:web:127.0.0.1"  # the TestClient's base URL: http://127.0.0.1


def junkan(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "junkan.cli", *args], capture_output=True, text=True, timeout=60,
                          env=env)


def b64json(segment: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def forge(token: str, tmp_path: Path, change: Any) -> str:
    """The payload changed by ``change`` and re-signed with an attacker key, keeping the plant's kid and
    embedding the attacker's JWK (what a naive verifier trusts)."""
    head, body, _ = token.split(".")
    payload = b64json(body)
    change(payload)
    attacker = keys.generate(tmp_path / "attacker", {"name": "Plant A", "id": DID}, force=True)
    attacker.kid = b64json(head)["kid"].split("#", 1)[1]  # the plant's kid
    return sign(payload, attacker, embed_jwk=True)


def set_br(payload: dict[str, Any]) -> None:
    rows = payload["credentialSubject"]["contaminants"]
    br = next(r for r in rows if r["analyte"] == "Br")
    br["max_ppm"] = 1.0  # the BFR screening made to look clean


@pytest.fixture
def gateway(plant: dict[str, Any], gateway_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
            ) -> TestClient:
    monkeypatch.setenv("JUNKAN_KEYS_DIR", str(tmp_path / "keys"))
    keys.generate(tmp_path / "keys", {"name": "Plant A", "id": DID})
    settings = GatewaySettings(consume=False, db_url=gateway_db_url)
    return TestClient(create_app(settings, plant["store"]), base_url="http://127.0.0.1", client=("127.0.0.1", 50000))


def fetch(client: TestClient, url: str, out: Path) -> Path:
    resp = client.get(url)
    assert resp.status_code == 200, (url, resp.text)
    out.write_bytes(resp.content)
    return out


def issued(client: TestClient, tmp_path: Path, fmt: str = "jws") -> Path:
    suffix = ".jwt" if fmt == "jws" else ".json"
    return fetch(client, f"/api/v1/lots/PP-OUT-1/evidence?format={fmt}", tmp_path / f"PP-OUT-1.{fmt}{suffix}")


def test_forged_token_with_embedded_key_is_refused_without_a_trusted_key(gateway: TestClient, tmp_path: Path
                                                                         ) -> None:
    """The exact attack of issue 17: Br changed, attacker key embedded, plant kid kept -> was VALID, exit 0."""
    env = {"JUNKAN_TRUST_FILE": str(tmp_path / "no-trust.json"), "PATH": "/usr/bin:/bin"}
    genuine = issued(gateway, tmp_path)
    forged = tmp_path / "forged.jwt"
    forged.write_text(forge(genuine.read_text().strip(), tmp_path, set_br))
    for path in (forged, genuine):  # without a trust anchor nothing verifies, genuine or not
        result = junkan("verify", str(path), env=env)
        assert result.returncode != 0 and "VALID:" not in result.stdout, result
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "no trusted key" in lines[0] and "never vouches" in lines[0], lines
    doc = fetch(gateway, "/.well-known/did.json", tmp_path / "did.json")
    assert junkan("verify", str(forged), "--did-document", str(doc), env=env).returncode == 1
    ok = junkan("verify", str(genuine), "--did-document", str(doc), env=env)
    assert ok.returncode == 0 and ok.stdout.startswith("VALID:"), ok


def test_did_document_verifies_valid_refuses_tampered_revoked_and_unknown_key(gateway: TestClient, tmp_path: Path
                                                                             ) -> None:
    from junkan.verify import verify

    genuine = issued(gateway, tmp_path)
    doc_path = fetch(gateway, "/.well-known/did.json", tmp_path / "did.json")
    doc = json.loads(doc_path.read_text())
    ring = keys.load_ring(tmp_path / "keys")
    assert doc["id"] == DID and doc["verificationMethod"][0]["id"] == f"{DID}#{ring.active}"
    assert doc["verificationMethod"][0]["type"] == "JsonWebKey" and doc["assertionMethod"] == [f"{DID}#{ring.active}"]
    assert "d" not in doc["verificationMethod"][0]["publicKeyJwk"]
    status_list = fetch(gateway, "/credentials/status/revocation", tmp_path / "status.jwt")

    code, line = verify(str(genuine), did_doc=str(doc_path), status_list=str(status_list))
    assert code == 0 and line.endswith("not revoked"), line
    tampered = tmp_path / "tampered.jwt"
    head, body, sig = genuine.read_text().strip().split(".")
    payload = b64json(body)
    set_br(payload)
    raw = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    tampered.write_text(f"{head}.{raw}.{sig}")  # Br changed, signature kept
    assert verify(str(tampered), did_doc=str(doc_path))[0] == 1
    tampered.write_text(forge(genuine.read_text().strip(), tmp_path, set_br))  # Br changed, re-signed
    code, line = verify(str(tampered), did_doc=str(doc_path))
    assert code == 1 and "signature invalid" in line, line

    evidence_id = payload["id"]
    assert payload["credentialStatus"]["statusListCredential"] == "http://127.0.0.1/credentials/status/revocation"
    resp = gateway.post("/api/v1/evidence/revoke", json={"evidence_id": evidence_id, "reason": "test"})
    assert resp.status_code == 200 and resp.json() == {"revoked": [evidence_id]}
    assert gateway.post("/api/v1/evidence/revoke", json={"evidence_id": "urn:nope"}).status_code == 404
    stale = verify(str(genuine), did_doc=str(doc_path), status_list=str(status_list))
    assert stale[0] == 0  # the list fetched before the revocation
    fetch(gateway, "/credentials/status/revocation", status_list)
    code, line = verify(str(genuine), did_doc=str(doc_path), status_list=str(status_list))
    assert code == 1 and "REVOKED" in line, line
    time.sleep(1.05)  # evidence ids are stamped to the second
    other = issued(gateway, tmp_path)  # a later evidence of the same lot: its own index, not revoked
    assert b64json(other.read_text().split(".")[1])["id"] != evidence_id
    assert verify(str(other), did_doc=str(doc_path), status_list=str(status_list))[0] == 0

    # a forged status list (attacker key) is refused, not believed
    forged_list = tmp_path / "forged-status.jwt"
    forged_list.write_text(forge(status_list.read_text().strip(), tmp_path, lambda p: None))
    assert verify(str(other), did_doc=str(doc_path), status_list=str(forged_list))[0] == 1

    # rotate: old evidence still verifies against the new document; revoke the old key: it does not
    keys.rotate(tmp_path / "keys")
    fetch(gateway, "/.well-known/did.json", doc_path)
    assert len(json.loads(doc_path.read_text())["verificationMethod"]) == 2
    assert verify(str(other), did_doc=str(doc_path))[0] == 0
    keys.revoke_key(tmp_path / "keys", ring.active)
    fetch(gateway, "/.well-known/did.json", doc_path)
    code, line = verify(str(other), did_doc=str(doc_path))
    assert code == 1 and "not in the DID document" in line, line


def test_key_of_another_issuer_and_issuer_binding(gateway: TestClient, tmp_path: Path) -> None:
    from junkan.verify import verify

    genuine = issued(gateway, tmp_path)
    other = keys.generate(tmp_path / "other", {"name": "Other", "id": "did:web:other.example"})
    other_doc = tmp_path / "other.json"
    from gateway.evidence.did import document

    other_doc.write_text(json.dumps(document(keys.load_ring(tmp_path / "other"), keys.public_jwks(tmp_path / "other"))))
    code, line = verify(str(genuine), did_doc=str(other_doc))
    assert code == 1 and "belongs to did:web:127.0.0.1" in line, line
    # signed by the other issuer's key but claiming to be the plant: the kid's DID decides, then the issuer
    body = genuine.read_text().strip().split(".")[1]
    claim = sign(b64json(body), other)
    path = tmp_path / "claim.jwt"
    path.write_text(claim)
    code, line = verify(str(path), did_doc=str(other_doc))
    assert code == 1 and "issuer" in line, line


def test_pinned_trust_file(gateway: TestClient, tmp_path: Path) -> None:
    from junkan.verify import verify

    genuine = issued(gateway, tmp_path)
    doc = fetch(gateway, "/.well-known/did.json", tmp_path / "did.json")
    trust = tmp_path / "trust.json"
    assert verify(str(genuine), trust=str(trust))[0] == 2
    code, line = verify(str(genuine), did_doc=str(doc), trust=str(trust), do_pin=True)
    assert code == 0 and "pinned" in line
    code, line = verify(str(genuine), trust=str(trust))
    assert code == 0 and "pinned DID document" in line, line


def test_untp_credentials_are_signed_vcs(gateway: TestClient, tmp_path: Path,
                                         schemas: dict[str, Any]) -> None:
    from junkan.verify import verify

    doc = fetch(gateway, "/.well-known/did.json", tmp_path / "did.json")
    for fmt, schema in (("untp-dcc-vc", "untp-dcc"), ("untp-dte-vc", "untp-dte"), ("untp-dpp-vc", "untp-dpp")):
        path = issued(gateway, tmp_path, fmt)
        wrapper = json.loads(path.read_text())
        assert wrapper["type"] == "EnvelopedVerifiableCredential"
        token = wrapper["id"].removeprefix("data:application/vc+jwt,")
        header, payload = b64json(token.split(".")[0]), b64json(token.split(".")[1])
        assert header["kid"].startswith(DID + "#") and header["typ"] == "vc+jwt" and "jwk" not in header
        assert payload["issuer"]["id"] == DID and payload["credentialStatus"]["type"] == "BitstringStatusListEntry"
        errors = [e.message for e in schemas[schema].iter_errors(payload)]
        assert not errors, (fmt, errors[:3])
        code, line = verify(str(path), did_doc=str(doc))
        assert code == 0, line


def test_independent_jose_libraries_verify_the_signature(gateway: TestClient, tmp_path: Path) -> None:
    """Not only our code: jwcrypto, and a bare Ed25519 check in `cryptography`, accept the genuine token
    with the DID document's key and reject the forged one."""
    jwcrypto = pytest.importorskip("jwcrypto")
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from jwcrypto import jwk, jws

    assert jwcrypto
    token = issued(gateway, tmp_path).read_text().strip()
    forged = forge(token, tmp_path, set_br)
    doc = gateway.get("/.well-known/did.json").json()
    kid = b64json(token.split(".")[0])["kid"]
    jwk_dict = next(m["publicKeyJwk"] for m in doc["verificationMethod"] if m["id"] == kid)
    key = jwk.JWK(**jwk_dict)
    checked = jws.JWS()
    checked.deserialize(token)
    checked.verify(key, alg="EdDSA")
    assert json.loads(checked.payload)["credentialSubject"]["lot"]["lot_id"] == "PP-OUT-1"
    bad = jws.JWS()
    bad.deserialize(forged)
    with pytest.raises(jws.InvalidJWSSignature):
        bad.verify(key, alg="EdDSA")
    raw = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(jwk_dict["x"] + "=="))
    for candidate, good in ((token, True), (forged, False)):
        head, body, sig = candidate.split(".")
        try:
            raw.verify(base64.urlsafe_b64decode(sig + "=="), f"{head}.{body}".encode())
            assert good
        except InvalidSignature:
            assert not good


def test_context_is_served_and_defines_every_term(gateway: TestClient, tmp_path: Path) -> None:
    token = issued(gateway, tmp_path).read_text().strip()
    payload = b64json(token.split(".")[1])
    context_url = payload["@context"][1]
    assert context_url == "http://127.0.0.1/contexts/evidence-v1.jsonld"
    assert ".invalid" not in json.dumps(payload["@context"]) and ".invalid" not in payload["issuer"]["id"]
    resp = gateway.get(context_url.removeprefix("http://127.0.0.1"))
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/ld+json")
    terms = resp.json()["@context"]
    assert "@vocab" not in terms  # UNTP: no @vocab; every term defined
    vc_terms = {"id", "type", "issuer", "name"}  # defined (protected) by https://www.w3.org/ns/credentials/v2
    missing = [k for k in payload["credentialSubject"] if k not in terms and k not in vc_terms]
    assert not missing, f"terms missing from gateway/evidence/contexts/evidence-v1.jsonld: {missing}"
    assert "CompositionEvidenceCredential" in terms
    assert gateway.get("/contexts/nope.jsonld").status_code == 404
