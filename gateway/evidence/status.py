"""Revocation of issued evidence: a W3C Bitstring Status List (VC Bitstring Status List v1.0).

Every issued evidence id gets one random index in the plant's revocation list (random, not sequential, so
an index says nothing about how much the plant issued); every credential signed for that evidence (the
evidence VC-JWT, the UNTP DCC/DTE) carries the same ``credentialStatus`` entry, so revoking the evidence id
revokes all of them. The list is served as a signed ``BitstringStatusListCredential``: bit ``i`` (left-most
bit of byte 0 is index 0) set = revoked; ``encodedList`` = multibase base64url (``u``) of the GZIP'ed bits.
"""

from __future__ import annotations

import base64
import gzip
import secrets
from dataclasses import replace
from datetime import UTC, datetime
from typing import cast

from typing_extensions import TypedDict

from gateway.evidence.did import base_url
from gateway.evidence.keys import SigningKey
from gateway.store.db import Database
from junkan.core.json_types import JsonObject

LIST_BITS = 131_072  # the spec's minimum (16 KiB): herd privacy
LIST_PATH = "/credentials/status/revocation"
VC = "https://www.w3.org/ns/credentials/v2"


class StatusError(ValueError):
    """A status list that cannot be read, or an entry that does not point into it."""


class StatusEntry(TypedDict):
    """A credential's ``credentialStatus``: a ``BitstringStatusListEntry`` pointing at its bit in the list."""

    id: str
    type: str
    statusPurpose: str
    statusListIndex: str
    statusListCredential: str


class CredentialStatusRow(TypedDict):
    """``credential_status``: the list index of one issued evidence id and whether it was revoked."""

    evidence_id: str
    lot_id: str
    idx: int
    issued_at: str
    revoked_at: str | None
    reason: str | None


def list_url(did: str) -> str:
    return base_url(did) + LIST_PATH


def entry(did: str, index: int) -> StatusEntry:
    url = list_url(did)
    return {"id": f"{url}#{index}", "type": "BitstringStatusListEntry", "statusPurpose": "revocation",
            "statusListIndex": str(index), "statusListCredential": url}


def allocate(db: Database, evidence_id: str, lot_id: str) -> int:
    """The index of ``evidence_id`` (allocated on first issue, random and unused)."""
    for _ in range(64):
        found = db.one("SELECT idx FROM credential_status WHERE evidence_id = ?", (evidence_id,))
        if found:
            return int(found["idx"])
        idx = secrets.randbelow(LIST_BITS)
        db.execute("INSERT INTO credential_status (idx, evidence_id, lot_id, issued_at) VALUES (?, ?, ?, ?) "
                   "ON CONFLICT DO NOTHING", (idx, evidence_id, lot_id, datetime.now(UTC).isoformat()))
    raise StatusError("revocation list is full (64 collisions in a row)")


def bind(db: Database, key: SigningKey, evidence_id: str, lot_id: str) -> SigningKey:
    """The key that signs credentials of ``evidence_id``: each carries its revocation entry."""
    return replace(key, status=entry(key.issuer.id, allocate(db, evidence_id, lot_id)))


def revoke(db: Database, *, evidence_id: str | None = None, lot_id: str | None = None,
           reason: str = "") -> list[str]:
    """Revoke one issued evidence id, or every evidence issued for a lot; the evidence ids newly revoked.
    KeyError when nothing was ever issued under that id / lot."""
    if (evidence_id is None) == (lot_id is None):
        raise ValueError("revoke takes an evidence id or a lot id")
    where, arg = ("evidence_id", evidence_id) if evidence_id is not None else ("lot_id", lot_id)
    rows = db.rows(f"SELECT evidence_id, revoked_at FROM credential_status WHERE {where} = ?", (arg,))
    if not rows:
        raise KeyError(f"no evidence issued with {where.replace('_', ' ')} {arg!r}")
    now = datetime.now(UTC).isoformat()
    db.execute(f"UPDATE credential_status SET revoked_at = ?, reason = ? WHERE {where} = ? AND revoked_at IS NULL",
               (now, reason, arg))
    return [r["evidence_id"] for r in rows if r["revoked_at"] is None]


def status_of(db: Database, evidence_id: str) -> CredentialStatusRow | None:
    row = db.one("SELECT evidence_id, lot_id, idx, issued_at, revoked_at, reason FROM credential_status "
                 "WHERE evidence_id = ?", (evidence_id,))
    return cast(CredentialStatusRow | None, row)


def encode(revoked: list[int]) -> str:
    bits = bytearray(LIST_BITS // 8)
    for i in revoked:
        bits[i // 8] |= 0x80 >> (i % 8)
    return "u" + base64.urlsafe_b64encode(gzip.compress(bytes(bits), mtime=0)).rstrip(b"=").decode()


def decode(encoded: str) -> bytes:
    if not encoded.startswith("u"):
        raise StatusError("encodedList is not multibase base64url ('u' prefix)")
    raw = encoded[1:]
    try:
        bits = gzip.decompress(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (ValueError, OSError, EOFError) as exc:
        raise StatusError(f"encodedList does not decode: {exc}") from None
    if len(bits) * 8 < LIST_BITS:
        raise StatusError(f"status list has {len(bits) * 8} bits, fewer than the minimum {LIST_BITS}")
    return bits


def is_set(bits: bytes, index: int) -> bool:
    if not 0 <= index < len(bits) * 8:
        raise StatusError(f"statusListIndex {index} is outside the list ({len(bits) * 8} bits)")
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def list_credential(db: Database, did: str, name: str) -> JsonObject:
    """The revocation list as a (to be signed) BitstringStatusListCredential (W3C VC JSON-LD)."""
    revoked = [int(r["idx"]) for r in db.rows("SELECT idx FROM credential_status WHERE revoked_at IS NOT NULL")]
    url = list_url(did)
    return {"@context": [VC], "id": url, "type": ["VerifiableCredential", "BitstringStatusListCredential"],
            "issuer": {"id": did, "name": name}, "validFrom": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "credentialSubject": {"id": f"{url}#list", "type": "BitstringStatusList", "statusPurpose": "revocation",
                                  "encodedList": encode(revoked)}}
