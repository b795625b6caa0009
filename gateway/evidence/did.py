"""The plant's ``did:web`` identity: DID <-> URL, and the DID document built from the keyring.

did:web (W3C CCG did:web method): ``did:web:plant.example`` is served at
``https://plant.example/.well-known/did.json``; a port is percent-encoded (``did:web:host%3A8443``) and a
path uses ``:`` (``did:web:host:plants:a`` -> ``https://host/plants/a/did.json``). A loopback host is
served over plain http (the plant-in-a-box); every other host over https.

Every key the keyring ever held is a verification method (rotated-out keys stay, so evidence signed
before a rotation still verifies); revoked keys are left out, so nothing signed with them verifies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote, unquote, urlsplit

from joserfc.jwk import OKPKey

from junkan.core.json_types import JsonObject

if TYPE_CHECKING:
    from gateway.evidence.keys import Keyring

DID_CONTEXT = ["https://www.w3.org/ns/did/v1", "https://www.w3.org/ns/cid/v1"]
WELL_KNOWN = "/.well-known/did.json"
_LOOPBACK = ("localhost", "127.0.0.1", "[::1]")


class DidError(ValueError):
    """Not a did:web DID, or a DID document that does not hold what it must."""


def did_from_domain(domain: str, path: str = "") -> str:
    """``host[:port]`` (+ optional ``a/b`` path) -> ``did:web:host%3Aport[:a:b]``."""
    domain = domain.strip().strip("/")
    if not domain or "/" in domain or "://" in domain:
        raise DidError(f"issuer domain must be host[:port], got {domain!r}")
    segments = [quote(domain, safe="[]")] + [quote(p, safe="") for p in path.strip("/").split("/") if p]
    return "did:web:" + ":".join(segments)


def did_from_url(url: str) -> str:
    """The DID a DID-document URL resolves (``http://127.0.0.1:8080/.well-known/did.json`` ->
    ``did:web:127.0.0.1%3A8080``)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise DidError(f"not an http(s) URL: {url!r}")
    path = parts.path
    if path.endswith(WELL_KNOWN) and path == WELL_KNOWN:
        path = ""
    elif path.endswith("/did.json"):
        path = path.removesuffix("/did.json")
    else:
        raise DidError(f"{url}: a did:web document URL ends in /.well-known/did.json or /did.json")
    return did_from_domain(parts.netloc, path)


def base_url(did: str) -> str:
    """The web origin (+ path) behind a did:web DID: where its DID document, status list and contexts live."""
    if not did.startswith("did:web:"):
        raise DidError(f"not a did:web DID: {did!r}")
    host, *path = did.removeprefix("did:web:").split("#")[0].split(":")
    host = unquote(host)
    scheme = "http" if host.split(":")[0] in _LOOPBACK or host.startswith("[::1]") else "https"
    return f"{scheme}://{host}" + "".join("/" + unquote(p) for p in path)


def document_url(did: str) -> str:
    base = base_url(did)
    return base + WELL_KNOWN if urlsplit(base).path in ("", "/") else base + "/did.json"


def method_id(did: str, kid: str) -> str:
    """The DID URL of one key (what a JWS ``kid`` names)."""
    return f"{did}#{kid}"


def document(ring: Keyring, public_jwks: dict[str, dict[str, object]]) -> JsonObject:
    """DID document: every non-revoked key as a ``JsonWebKey`` verification method usable for assertions."""
    did = ring.issuer.id
    methods = []
    for entry in ring.keys:
        if entry.revoked_at is not None:
            continue
        methods.append({"id": method_id(did, entry.kid), "type": "JsonWebKey", "controller": did,
                        "publicKeyJwk": public_jwks[entry.kid]})
    ids = [m["id"] for m in methods]
    return {"@context": DID_CONTEXT, "id": did, "verificationMethod": methods, "assertionMethod": ids,
            "authentication": [method_id(did, ring.active)] if method_id(did, ring.active) in ids else []}


def assertion_key(doc: JsonObject, kid: str) -> OKPKey:
    """The public key ``kid`` (a DID URL) names in ``doc``; DidError unless the document's subject is the
    DID of ``kid`` and lists that key for assertions (signing credentials)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("id"), str):
        raise DidError("the DID document has no id")
    did, _, fragment = kid.partition("#")
    if not fragment:
        raise DidError(f"kid {kid!r} is not a DID URL (did#key)")
    if did != doc["id"]:
        raise DidError(f"kid {kid!r} belongs to {did}, the DID document is {doc['id']}")
    asserting = {a if isinstance(a, str) else a.get("id") for a in doc.get("assertionMethod") or []}
    embedded = [a for a in doc.get("assertionMethod") or [] if isinstance(a, dict)]
    for method in [*(doc.get("verificationMethod") or []), *embedded]:
        if not isinstance(method, dict):
            continue
        mid = method.get("id", "")
        full = did + mid if isinstance(mid, str) and mid.startswith("#") else mid
        if full != kid:
            continue
        if kid not in asserting and f"#{fragment}" not in asserting:
            raise DidError(f"{kid} is in the DID document but not an assertion method")
        jwk = method.get("publicKeyJwk")
        if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or "d" in jwk:
            raise DidError(f"{kid}: publicKeyJwk is not an Ed25519 public key")
        try:
            return OKPKey.import_key(jwk)
        except (ValueError, TypeError) as exc:
            raise DidError(f"{kid}: unusable publicKeyJwk: {exc}") from None
    raise DidError(f"key {kid} is not in the DID document of {doc['id']} (unknown, or revoked)")
