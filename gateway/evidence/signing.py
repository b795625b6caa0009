"""Signing evidence as VC-JWT (JWS compact, ``alg: EdDSA``, ``typ: vc+jwt``) and verifying it offline.

``junkan verify`` (junkan/verify.py) finds the trusted key (``--key``, the issuer's DID document, or a
pinned trust file) and checks revocation. Segments must be canonical base64url, so a flipped character
in the padding bits of the signature is caught too.
"""

from __future__ import annotations

import base64
import json
import warnings
from typing import TypedDict

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey

from gateway.evidence.keys import SigningKey
from junkan.core.json_types import JsonObject

ALG = "EdDSA"  # UNTP's VC-JOSE profile names EdDSA; joserfc warns that RFC 9864 prefers "Ed25519"


class Verified(TypedDict):
    """A token whose signature a trusted key checked: its JWS protected header and its payload (a VC)."""

    header: JsonObject
    payload: JsonObject


def sign(payload: JsonObject, key: SigningKey, embed_jwk: bool = False) -> str:
    """VC-JWT of ``payload``; ``kid`` is the DID URL of the key, and a credential gets the key's revocation
    entry (``credentialStatus``) when it has none. No JWK is embedded by default: a verifier takes the key
    from the issuer's DID document, never from the token itself."""
    header: JsonObject = {"alg": ALG, "typ": "vc+jwt", "cty": "vc", "kid": key.header_kid}
    if embed_jwk:
        header["jwk"] = key.key.as_dict(private=False)
    if key.status is not None and "VerifiableCredential" in payload.get("type", []) \
            and "credentialStatus" not in payload:
        payload = {**payload, "credentialStatus": key.status}
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return jws.serialize_compact(header, body, key.key, algorithms=[ALG])


def enveloped(token: str) -> JsonObject:
    """W3C VC-JOSE-COSE enveloped credential wrapper (as in UNTP's test fixtures)."""
    return {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": "EnvelopedVerifiableCredential",
            "id": f"data:application/vc+jwt,{token}"}


def _b64(segment: str) -> bytes:
    raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != segment:
        raise ValueError("non-canonical base64url")
    return raw


def extract_token(text: str) -> str:
    """The JWS from a compact file, a JSON with ``jws``, or an enveloped credential."""
    text = text.strip()
    if text.startswith("{"):
        doc = json.loads(text)
        if isinstance(doc.get("jws"), str):
            return str(doc["jws"])
        ident = doc.get("id")
        if isinstance(ident, str) and ident.startswith("data:application/vc+jwt,"):
            return ident.split(",", 1)[1]
        raise ValueError("JSON holds neither 'jws' nor an enveloped vc+jwt credential")
    return text


class VerifyError(Exception):
    pass


def header_of(token: str) -> JsonObject:
    """The protected header, unverified (to find the ``kid`` whose trusted key is then used)."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        raise VerifyError("not a JWS compact serialisation (three non-empty segments)")
    try:
        header = json.loads(_b64(parts[0]))
        _b64(parts[1])
        if len(_b64(parts[2])) != 64:
            raise ValueError("Ed25519 signatures are 64 bytes")
    except ValueError as exc:
        raise VerifyError(f"malformed segment: {exc}") from None
    if not isinstance(header, dict):
        raise VerifyError("the JWS header is not a JSON object")
    return header


def verify_token(token: str, trusted: bytes | OKPKey | None) -> Verified:
    """Check the signature against a TRUSTED public key (PEM or JWK); returns {header, payload}.

    A key embedded in the token (``jwk`` header) is never used: anyone can sign with their own key and
    embed it, so it proves nothing about who signed.
    """
    header = header_of(token)
    if header.get("alg") != ALG or header.get("typ") != "vc+jwt":
        raise VerifyError(f"unexpected header alg={header.get('alg')!r} typ={header.get('typ')!r}")
    if trusted is None:
        raise VerifyError("no trusted key: a key embedded in the token cannot vouch for itself")
    try:
        key = trusted if isinstance(trusted, OKPKey) else OKPKey.import_key(trusted)
    except (KeyError, ValueError, TypeError, JoseError) as exc:
        raise VerifyError(f"no usable public key: {exc}") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            obj = jws.deserialize_compact(token, key, algorithms=[ALG])
    except (JoseError, ValueError) as exc:
        raise VerifyError(f"signature invalid: {type(exc).__name__}: {exc}") from None
    try:
        payload = json.loads(obj.payload)
    except ValueError as exc:
        raise VerifyError(f"payload is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise VerifyError("payload is not a JSON object")
    return Verified(header=obj.headers(), payload=payload)
