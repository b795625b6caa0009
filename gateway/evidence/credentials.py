"""Credentials the plant issues: the evidence VC and the UNTP credentials as VC-JWTs (enveloping proof).

UNTP 0.6 (VerifiableCredentials.md) requires W3C VCDM 2.0 secured by an enveloping proof (VC-JOSE-COSE,
JOSE): the credential is the payload of a JWS signed with the plant's key, ``kid`` the DID URL of that key,
wrapped as an ``EnvelopedVerifiableCredential``. The evidence credential's own terms are defined by a
context shipped in this package (``contexts/evidence-v1.jsonld``) and served by the gateway at
``<issuer base URL>/contexts/evidence-v1.jsonld``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib import resources

from gateway.evidence.did import base_url
from gateway.evidence.keys import SigningKey
from gateway.evidence.signing import enveloped, sign
from junkan.core.evidence import Evidence
from junkan.core.json_types import JsonObject

VC = "https://www.w3.org/ns/credentials/v2"
CONTEXTS = ("evidence-v1.jsonld",)
CONTEXT_PATH = "/contexts/"


def context_url(did: str, name: str = "evidence-v1.jsonld") -> str:
    return base_url(did) + CONTEXT_PATH + name


def context_document(name: str) -> JsonObject:
    """A shipped JSON-LD context (KeyError for any other name)."""
    if name not in CONTEXTS:
        raise KeyError(name)
    loaded: JsonObject = json.loads(resources.files("gateway.evidence").joinpath("contexts", name).read_text(
        encoding="utf-8"))
    return loaded


def evidence_credential(ev: Evidence) -> JsonObject:
    """The evidence as a W3C VC 2.0 payload (what the JWS signs)."""
    return {"@context": [VC, context_url(ev.issuer.id)],
            "type": ["VerifiableCredential", "CompositionEvidenceCredential"], "id": ev.evidence_id,
            "issuer": {"id": ev.issuer.id, "name": ev.issuer.name},
            "validFrom": ev.issued_at, "credentialSubject": ev.as_json()}


def signed_vc(build: Callable[[Evidence], JsonObject]) -> Callable[[Evidence, SigningKey | None], bytes]:
    """An exporter render function: ``build(ev)`` signed as VC-JWT and enveloped (UNTP's wire form)."""
    def render(ev: Evidence, key: SigningKey | None) -> bytes:
        if key is None:
            raise ValueError("a signed credential needs the plant's signing key")
        return (json.dumps(enveloped(sign(build(ev), key)), indent=2) + "\n").encode()

    return render
