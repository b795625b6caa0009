"""The certificate's online check: a URL (printed and as a QR code) that carries the figures the certificate
states, sealed with a MAC only the issuing plant can make, and a public page that opens the seal.

Why figures in the URL: a paper certificate can be edited. The plant keeps no copy of each rendering, so the
QR code itself carries what matters (lot, mass, verdict, claims, composition, flags); the page shows the
figures *as issued* beside the revocation status, and the reader compares them with the sheet. A forged
QR fails the seal; an edited sheet with its original QR shows the true figures. The seal key is derived from
the signing key's private half (HMAC-SHA256), so only the plant can seal, and the ``k`` parameter names the
key, so a rotation keeps older certificates checkable while the retired key's file is kept.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from urllib.parse import urlencode

from gateway.evidence import did
from gateway.evidence.keys import SigningKey
from junkan.core.evidence import Composition, Evidence

VERIFY_PATH = "/verify"
_FIELDS = ("e", "lot", "m", "v", "b", "c", "f", "i", "k")  # sealed, in this order


def overall_verdict(ev: Evidence) -> str:
    """non_conformant if any spec fails, insufficient_data if any is open, conformant, or no_spec."""
    results = [r.result for r in ev.conformance]
    return ("non_conformant" if "non_conformant" in results else "insufficient_data"
            if "insufficient_data" in results else "conformant" if results else "no_spec")


def figures(ev: Evidence, kid: str) -> dict[str, str]:
    """What the certificate states, as short text (the URL's query, before the seal)."""
    shares = ""
    if isinstance(ev.composition, Composition) and ev.composition.by_mass:
        top = sorted(ev.composition.by_mass.items(), key=lambda kv: -kv[1].share)[:6]
        shares = ",".join(f"{name}:{100 * s.share:.1f}" for name, s in top)
    flags = ",".join(f"{c.analyte}>{float(limit):g}:{t.status}" for c in ev.contaminants
                     for limit, t in c.thresholds.items() if t.flag)
    return {"e": ev.evidence_id, "lot": ev.lot.lot_id, "m": f"{float(ev.lot.net_mass_kg or 0):.3f}",
            "v": overall_verdict(ev), "b": "1" if ev.claims.blocked else "0", "c": shares, "f": flags,
            "i": ev.issued_at, "k": kid}


def seal_key(key: SigningKey) -> bytes:
    """The MAC key: derived from the private half, never the signing key itself."""
    private = bytes(key.key.as_pem(private=True))
    return hashlib.sha256(b"junkan certificate seal v1\x00" + private).digest()


def seal(values: dict[str, str], mac_key: bytes) -> str:
    message = "\x1f".join(f"{name}={values.get(name, '')}" for name in _FIELDS).encode()
    return hmac.new(mac_key, message, hashlib.sha256).hexdigest()[:32]


def link(ev: Evidence, key: SigningKey) -> str:
    """The certificate's verification URL at the issuer's did:web origin."""
    values = figures(ev, key.kid)
    return did.base_url(ev.issuer.id) + VERIFY_PATH + "?" + urlencode({**values, "t": seal(values, seal_key(key))})


def opened(query: dict[str, str], keys_dir: Path) -> dict[str, str] | None:
    """The sealed figures if ``query`` carries a valid seal by one of the plant's keys, else None."""
    from gateway.evidence import keys as keyring

    kid, given = query.get("k", ""), query.get("t", "")
    if not kid or not given or not all(c in "0123456789abcdef" for c in given):
        return None
    try:
        ring = keyring.load_ring(keys_dir)
    except keyring.KeyError_:
        return None
    entry = next((e for e in ring.keys if e.kid == kid), None)
    if entry is None or entry.revoked_at is not None:  # a revoked (compromised) key seals nothing any more
        return None
    try:
        key = keyring.key_by_kid(keys_dir, kid)
    except keyring.KeyError_:
        return None
    values = {name: query.get(name, "") for name in _FIELDS}
    return values if hmac.compare_digest(seal(values, seal_key(key)), given) else None
