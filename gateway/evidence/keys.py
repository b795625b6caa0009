"""The plant's Ed25519 signing keys in a folder: generate, rotate (old public keys kept), load.

Layout: ``keyring.json`` (issuer, active kid, history) + ``<kid>.key.pem`` (private, mode 0600) +
``<kid>.pub.pem``. The kid is the RFC 7638 JWK thumbprint, so it is derived from the key itself.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from joserfc.jwk import OKPKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.evidence.did import did_from_domain, method_id
from junkan.core.evidence import Issuer

# The plant-in-a-box: the gateway's default API address (settings.api) serves this DID's document.
DEFAULT_ISSUER = Issuer(name="junkan plant-in-a-box (127.0.0.1:8080)", id=did_from_domain("127.0.0.1:8080"))


class KeyEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kid: str = Field(description="RFC 7638 thumbprint of the key.")
    created_at: str = Field(description="ISO 8601.")
    retired_at: str | None = Field(description="When a rotation replaced it (null: active).")
    revoked_at: str | None = Field(default=None, description="When it was revoked (compromised): left out of the "
                                   "DID document, so nothing it signed verifies any more.")


class Keyring(BaseModel):
    """``keyring.json``: the issuer, the active key and every key ever used (public halves kept)."""

    model_config = ConfigDict(extra="forbid")

    issuer: Issuer
    active: str
    keys: list[KeyEntry]


class KeyError_(Exception):
    """Key folder missing, unreadable or inconsistent."""


@dataclass
class SigningKey:
    kid: str
    key: OKPKey
    issuer: Issuer
    status: Mapping[str, object] | None = None  # credentialStatus put into every credential it signs (status.bind)

    @property
    def header_kid(self) -> str:
        return method_id(self.issuer.id, self.kid)

    def public_pem(self) -> bytes:
        return bytes(self.key.as_pem(private=False))


def _ring_path(folder: Path) -> Path:
    return folder / "keyring.json"


def load_ring(folder: str | Path) -> Keyring:
    path = _ring_path(Path(folder))
    if not path.exists():
        raise KeyError_(f"no keyring in {folder}: run `junkan gateway keys generate --dir {folder}`")
    try:
        return Keyring.model_validate_json(path.read_bytes())
    except (OSError, ValidationError) as exc:
        raise KeyError_(f"{path}: unreadable keyring: {exc}") from None


def _write_ring(path: Path, ring: Keyring) -> None:
    tmp = _ring_path(path).with_suffix(".tmp")
    tmp.write_text(json.dumps(ring.model_dump(mode="json"), indent=2), encoding="utf-8")
    tmp.replace(_ring_path(path))


def _write_key(folder: Path, key: OKPKey) -> str:
    kid = key.thumbprint()
    priv = folder / f"{kid}.key.pem"
    fd = os.open(priv, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(bytes(key.as_pem(private=True)))
    (folder / f"{kid}.pub.pem").write_bytes(bytes(key.as_pem(private=False)))
    return kid


def generate(folder: str | Path, issuer: Issuer | dict[str, str] | None = None, force: bool = False) -> SigningKey:
    """Create the first key (refuses to overwrite an existing keyring unless ``force``)."""
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    if _ring_path(path).exists() and not force:
        raise KeyError_(f"{path} already holds a keyring; use `keys rotate` to replace the active key")
    key = OKPKey.generate_key("Ed25519")
    kid = _write_key(path, key)
    now = datetime.now(UTC).isoformat()
    ring = Keyring(issuer=Issuer.model_validate(issuer) if issuer else DEFAULT_ISSUER, active=kid,
                   keys=[KeyEntry(kid=kid, created_at=now, retired_at=None)])
    _write_ring(path, ring)
    return SigningKey(kid, key, ring.issuer)


def rotate(folder: str | Path) -> SigningKey:
    """New active key; the old one is marked retired and its public key stays for verification."""
    path = Path(folder)
    ring = load_ring(path)
    key = OKPKey.generate_key("Ed25519")
    kid = _write_key(path, key)
    now = datetime.now(UTC).isoformat()
    for entry in ring.keys:
        if entry.retired_at is None:
            entry.retired_at = now
    ring.keys.append(KeyEntry(kid=kid, created_at=now, retired_at=None))
    ring.active = kid
    _write_ring(path, ring)
    return SigningKey(kid, key, ring.issuer)


def active(folder: str | Path) -> SigningKey:
    return key_by_kid(folder, load_ring(folder).active)


def key_by_kid(folder: str | Path, kid: str) -> SigningKey:
    """One key of the ring with its private half (the active one, or a retired one whose file is kept)."""
    path = Path(folder)
    ring = load_ring(path)
    if kid not in {e.kid for e in ring.keys}:
        raise KeyError_(f"{path}: no key {kid} in the keyring")
    which = "active key" if kid == ring.active else "key"
    try:
        key = OKPKey.import_key((path / f"{kid}.key.pem").read_bytes())
    except (OSError, ValueError) as exc:
        raise KeyError_(f"{path}: {which} {kid} unreadable: {exc}") from None
    return SigningKey(kid, key, ring.issuer)


def load_or_generate(folder: str | Path, issuer: Issuer | dict[str, str] | None = None) -> SigningKey:
    return active(folder) if _ring_path(Path(folder)).exists() else generate(folder, issuer)


def revoke_key(folder: str | Path, kid: str) -> Keyring:
    """Mark ``kid`` revoked (it leaves the DID document); the active key cannot be revoked before a rotation."""
    path = Path(folder)
    ring = load_ring(path)
    entry = next((e for e in ring.keys if e.kid == kid), None)
    if entry is None:
        raise KeyError_(f"{path}: no key {kid}")
    if kid == ring.active:
        raise KeyError_(f"{kid} is the active key: run `keys rotate` first, then revoke it")
    entry.revoked_at = entry.revoked_at or datetime.now(UTC).isoformat()
    _write_ring(path, ring)
    return ring


def set_issuer(folder: str | Path, issuer: Issuer) -> Keyring:
    """Rename the issuer (its DID and name); the keys stay. Evidence signed under the old DID names keys
    at the old DID, so it verifies only against that DID's document."""
    path = Path(folder)
    ring = load_ring(path)
    if ring.issuer != issuer:
        ring.issuer = issuer
        _write_ring(path, ring)
    return ring


def public_jwks(folder: str | Path) -> dict[str, dict[str, object]]:
    """kid -> public JWK of every key ever used here."""
    return {kid: dict(OKPKey.import_key(pem).as_dict(private=False)) for kid, pem in public_keys(folder).items()}


def public_keys(folder: str | Path) -> dict[str, bytes]:
    """kid -> public PEM for every key ever used here (active and retired)."""
    path = Path(folder)
    return {e.kid: (path / f"{e.kid}.pub.pem").read_bytes() for e in load_ring(path).keys}


def write_plant_public_key(workdir: str | Path) -> Path:
    """Demo/scenario hook: load (or create) ``workdir/keys`` and write ``workdir/plant_public_key.pem``.

    ``junkan gateway evidence --db workdir/gateway.db --format jws`` signs with that key folder, and a
    recycler checks the file with ``junkan verify FILE --key workdir/plant_public_key.pem``.
    """
    folder = Path(workdir)
    key = load_or_generate(folder / "keys")
    out = folder / "plant_public_key.pem"
    out.write_bytes(key.public_pem())
    return out
