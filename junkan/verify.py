"""`junkan verify FILE`: offline check of signed composition evidence against a key the user TRUSTS.

Trust comes from ``--key PEM``, ``--did-document FILE|URL`` (the plant's did:web document) or the pinned
trust file (``--trust``, ``$JUNKAN_TRUST_FILE``, ``~/.config/junkan/trusted-issuers.json``; ``--pin`` adds
the document given). Without one the file is refused: a key inside a token never vouches for itself.
Revocation is read from ``--status-list FILE|URL``, or from the gateway the DID document URL named; nothing
else is fetched. Exit: 0 valid, 1 invalid/tampered/revoked/untrusted key, 2 cannot check.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:  # the gateway is imported when a command runs, not when the CLI starts
    from gateway.evidence.signing import Verified

VALID, INVALID, CANNOT = 0, 1, 2
_NO_TRUST = ("no trusted key: pass --key PEM, --did-document FILE|URL (the plant's /.well-known/did.json) or "
             "pin the issuer with --pin; a key embedded in the file never vouches for itself")


def register(top: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = top.add_parser("verify", help="Verify a signed evidence file against the plant's trusted key; non-zero "
                       "exit on tampering, revocation or no trusted key.")
    p.add_argument("file", help="Evidence file (JWS compact, JSON with a 'jws' member, or an "
                   "EnvelopedVerifiableCredential such as the untp-*-vc exports).")
    p.add_argument("--key", help="Plant public key (PEM) you trust.")
    p.add_argument("--did-document", help="The plant's DID document: a file, or the URL the gateway serves "
                   "(http(s)://HOST/.well-known/did.json).")
    p.add_argument("--trust", help="Trust file of pinned DID documents (default $JUNKAN_TRUST_FILE or "
                   "~/.config/junkan/trusted-issuers.json).")
    p.add_argument("--pin", action="store_true", help="After a valid check with --did-document, pin that "
                   "document in the trust file.")
    p.add_argument("--status-list", help="Revocation list credential (file or URL); default: fetched from the "
                   "gateway when --did-document is a URL of that gateway.")
    p.set_defaults(func=_run)


class Refused(Exception):
    """Verification failed; ``code`` is the exit status."""

    def __init__(self, code: int, why: str) -> None:
        super().__init__(why)
        self.code = code


def trust_path(given: str | None) -> Path:
    if given:
        return Path(given)
    if env := os.environ.get("JUNKAN_TRUST_FILE"):
        return Path(env)
    return Path.home() / ".config" / "junkan" / "trusted-issuers.json"


def _is_url(source: str) -> bool:
    return urlsplit(source).scheme in ("http", "https")


def load_json(source: str, what: str) -> Any:
    """A JSON document from a file or an http(s) URL the user named."""
    try:
        if _is_url(source):
            import httpx

            resp = httpx.get(source, timeout=10.0, follow_redirects=False)
            resp.raise_for_status()
            text = resp.text
        else:
            text = Path(source).read_text(encoding="utf-8")
        return json.loads(text) if text.lstrip().startswith(("{", "[")) else text.strip()
    except Exception as exc:  # any failure to obtain it means "cannot check"
        raise Refused(CANNOT, f"cannot read {what} {source}: {exc}") from None


def did_document(source: str) -> dict[str, Any]:
    from gateway.evidence.did import DidError, did_from_url

    doc = load_json(source, "DID document")
    if not isinstance(doc, dict) or not isinstance(doc.get("id"), str):
        raise Refused(CANNOT, f"{source} is not a DID document (no id)")
    if _is_url(source):
        try:
            expected = did_from_url(source)
        except DidError as exc:
            raise Refused(CANNOT, str(exc)) from None
        if doc["id"] != expected:  # did:web: the document at a URL speaks only for that URL's DID
            raise Refused(INVALID, f"{source} serves the DID document of {doc['id']}, not of {expected}")
    return doc


def pinned(path: Path) -> dict[str, dict[str, Any]]:
    if not path.exists():
        return {}
    data = load_json(str(path), "trust file")
    docs = data.get("did_documents") if isinstance(data, dict) else None
    if not isinstance(docs, dict):
        raise Refused(CANNOT, f"{path}: a trust file holds {{\"did_documents\": {{DID: document}}}}")
    return docs


def pin(path: Path, doc: dict[str, Any]) -> None:
    docs = pinned(path)
    docs[doc["id"]] = doc
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"did_documents": docs}, indent=2), encoding="utf-8")
    tmp.replace(path)


def check_token(token: str, *, pem: bytes | None, doc: dict[str, Any] | None) -> Verified:
    """Signature with the trusted key; with a DID document also the issuer binding (issuer == the DID)."""
    from gateway.evidence.did import DidError, assertion_key
    from gateway.evidence.signing import VerifyError, header_of, verify_token

    try:
        kid = str(header_of(token).get("kid") or "")
        if doc is not None:
            try:
                trusted: Any = assertion_key(doc, kid)
            except DidError as exc:
                raise Refused(INVALID, str(exc)) from None
        else:
            trusted = pem
        result = verify_token(token, trusted)
    except VerifyError as exc:
        raise Refused(INVALID, str(exc)) from None
    issuer = result["payload"].get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
    if doc is not None and issuer_id != doc["id"]:
        raise Refused(INVALID, f"credential issuer {issuer_id!r} is not the DID document's {doc['id']}")
    return result


def _status_entries(payload: dict[str, Any]) -> list[dict[str, Any]]:
    raw = payload.get("credentialStatus")
    entries = raw if isinstance(raw, list) else [raw] if isinstance(raw, dict) else []
    return [e for e in entries if isinstance(e, dict) and e.get("statusPurpose") == "revocation"]


def check_revocation(payload: dict[str, Any], source: str | None, did_source: str | None, *,
                     pem: bytes | None, doc: dict[str, Any] | None) -> str:
    """'not revoked' / 'no status entry' / 'not checked ...'; Refused(INVALID) when revoked."""
    from gateway.evidence import status
    from gateway.evidence.signing import extract_token

    entries = _status_entries(payload)
    if not entries:
        return "no revocation entry"
    for item in entries:
        url = str(item.get("statusListCredential", ""))
        where = source
        if where is None and did_source and _is_url(did_source) and \
                urlsplit(url)[:2] == urlsplit(did_source)[:2]:
            where = url  # the same gateway the user named for the DID document
        if where is None:
            return f"revocation NOT checked (give --status-list FILE|URL; the list is at {url})"
        raw = load_json(where, "status list")
        token = extract_token(raw if isinstance(raw, str) else json.dumps(raw))
        listed = check_token(token, pem=pem, doc=doc)["payload"]
        if listed.get("id") != url:
            raise Refused(INVALID, f"status list {where} is {listed.get('id')!r}, the credential names {url}")
        subject = listed.get("credentialSubject") or {}
        try:
            bits = status.decode(str(subject.get("encodedList", "")))
            revoked = status.is_set(bits, int(item.get("statusListIndex", -1)))
        except (status.StatusError, ValueError) as exc:
            raise Refused(INVALID, f"status list {where}: {exc}") from None
        if revoked:
            raise Refused(INVALID, f"REVOKED by its issuer (status list {url}, index {item.get('statusListIndex')})")
    return "not revoked"


def verify(path: str, *, key: str | None = None, did_doc: str | None = None, trust: str | None = None,
           status_list: str | None = None, do_pin: bool = False) -> tuple[int, str]:
    """(exit code, the one line to print)."""
    from gateway.evidence.signing import VerifyError, extract_token, header_of

    try:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise Refused(INVALID, f"not text: {exc}") from None
        except OSError as exc:
            raise Refused(CANNOT, f"cannot read it: {exc}") from None
        try:
            token = extract_token(text)
            kid = str(header_of(token).get("kid") or "")
        except (ValueError, VerifyError) as exc:
            raise Refused(INVALID, str(exc)) from None
        pem = doc = None
        if key:
            try:
                pem = Path(key).read_bytes()
            except OSError as exc:
                raise Refused(CANNOT, f"cannot read key {key}: {exc}") from None
            how = f"plant key {key}"
        elif did_doc:
            doc = did_document(did_doc)
            how = f"DID document {did_doc}"
        else:
            doc = pinned(trust_path(trust)).get(kid.partition("#")[0])
            if doc is None:
                raise Refused(CANNOT, _NO_TRUST)
            how = f"pinned DID document ({trust_path(trust)})"
        result = check_token(token, pem=pem, doc=doc)
        revocation = check_revocation(result["payload"], status_list, did_doc, pem=pem, doc=doc)
    except Refused as exc:
        return exc.code, f"{'INVALID' if exc.code == INVALID else 'REFUSED'}: {path}: {exc}"
    if do_pin and doc is not None and did_doc:
        pin(trust_path(trust), doc)
        how += f", pinned in {trust_path(trust)}"
    payload = result["payload"]
    subject = payload.get("credentialSubject")
    lot = subject.get("lot", {}).get("lot_id") if isinstance(subject, dict) and \
        isinstance(subject.get("lot"), dict) else None
    return VALID, (f"VALID: {path}: signed by {kid} ({how}); credential {payload.get('id')}"
                   + (f", lot {lot}" if lot else "") + f"; {revocation}")


def _run(args: argparse.Namespace) -> int:
    code, line = verify(args.file, key=args.key, did_doc=args.did_document, trust=args.trust,
                        status_list=args.status_list, do_pin=args.pin)
    print(line, file=sys.stdout if code == VALID else sys.stderr)
    return code
