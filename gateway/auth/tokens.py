"""API tokens: ``jk_<id>_<secret>``. Only sha256(secret) is stored; the id finds the row without a scan.

A 32-byte random secret has 256 bits of entropy, so a fast hash is enough (no password stretching
needed, unlike human-chosen passwords); comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

PREFIX = "jk"
_TOKEN = re.compile(r"^jk_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class NewToken:
    """A freshly minted token: ``token`` is shown once, ``token_id`` and ``token_hash`` are stored."""

    token: str
    token_id: str
    token_hash: str


def mint() -> NewToken:
    token_id = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(12))
    secret = secrets.token_urlsafe(32)  # 32 random bytes -> 43 base64url characters
    return NewToken(f"{PREFIX}_{token_id}_{secret}", token_id, hash_secret(secret))


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse(token: str) -> tuple[str, str] | None:
    """(token_id, secret) of a well-formed token, else None (never raises on hostile input)."""
    match = _TOKEN.match(token.strip()) if isinstance(token, str) and len(token) < 200 else None
    return (match.group(1), match.group(2)) if match else None


def matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)


def new_session_id() -> tuple[str, str]:
    """(cookie value, stored hash) of a dashboard session."""
    value = secrets.token_urlsafe(32)
    return value, hash_secret(value)
