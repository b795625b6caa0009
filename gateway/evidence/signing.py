"""Signing evidence as VC-JWT (JWS compact, ``alg: EdDSA``, ``typ: vc+jwt``) and verifying it offline.

``verify_file`` is what ``junkan verify`` runs: 0 = valid, 1 = invalid (tampered, wrong key, malformed),
2 = cannot check (file or key unreadable). Segments must be canonical base64url, so a flipped character
in the padding bits of the signature is caught too.
"""

from __future__ import annotations

import base64
import json
import sys
import warnings
from pathlib import Path
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey

from gateway.evidence.keys import SigningKey

ALG = "EdDSA"  # UNTP's VC-JOSE profile names EdDSA; joserfc warns that RFC 9864 prefers "Ed25519"


def sign(payload: dict[str, Any], key: SigningKey, embed_jwk: bool = True) -> str:
    header: dict[str, Any] = {"alg": ALG, "typ": "vc+jwt", "cty": "vc", "kid": key.header_kid}
    if embed_jwk:
        header["jwk"] = key.key.as_dict(private=False)
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return jws.serialize_compact(header, body, key.key, algorithms=[ALG])


def enveloped(token: str) -> dict[str, Any]:
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


def verify_token(token: str, public_pem: bytes | None) -> dict[str, Any]:
    """Check the signature; returns {header, payload}. ``public_pem`` None: the embedded JWK (integrity only)."""
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
    if header.get("alg") != ALG or header.get("typ") != "vc+jwt":
        raise VerifyError(f"unexpected header alg={header.get('alg')!r} typ={header.get('typ')!r}")
    try:
        key = OKPKey.import_key(public_pem) if public_pem is not None else OKPKey.import_key(header["jwk"])
    except (KeyError, ValueError, TypeError, JoseError) as exc:  # a tampered embedded JWK lands here
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
    return {"header": obj.headers(), "payload": payload}


def verify_file(path: str, key_path: str | None) -> int:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"INVALID: cannot read {path}: {exc}", file=sys.stderr)
        return 1 if isinstance(exc, UnicodeDecodeError) else 2
    pem = None
    if key_path:
        try:
            pem = Path(key_path).read_bytes()
        except OSError as exc:
            print(f"cannot read key {key_path}: {exc}", file=sys.stderr)
            return 2
    try:
        result = verify_token(extract_token(text), pem)
    except (VerifyError, ValueError) as exc:
        print(f"INVALID: {path}: {exc}", file=sys.stderr)
        return 1
    payload = result["payload"]
    subject = payload.get("credentialSubject", {})
    lot = subject.get("lot", {}).get("lot_id") if isinstance(subject, dict) else None
    how = "plant key " + key_path if key_path else "key embedded in the file (integrity only; pass --key to " \
                                                   "check who signed it)"
    print(f"VALID: {path}: signed by {result['header'].get('kid')} with {how}; "
          f"credential {payload.get('id')}" + (f", lot {lot}" if lot else ""))
    return 0
