"""The plant's issuer identity at gateway start: its did:web DID from settings, and a keyring under it.

``ensure_identity`` is what ``serve`` (and the demo, which needs keys before the first lot closes) call:
it creates the keyring when there is none and points its issuer at the configured DID. Renaming the DID
of an existing keyring keeps its keys; evidence issued under the old DID then verifies only against the
old DID's document (a warning says so).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from gateway.evidence import keys
from gateway.evidence.did import did_from_domain
from gateway.evidence.formats import keys_dir_for
from gateway.settings import GatewaySettings
from junkan.core.evidence import Gs1Keys, Issuer
from junkan.core.locks import Busy, FileLock

log = logging.getLogger("junkan.evidence")
_UNCONFIGURED = (keys.DEFAULT_ISSUER.id, "did:web:plant.invalid")  # release 0.1 keyrings name the latter


def issuer_of(settings: GatewaySettings) -> Issuer:
    """The issuer the settings name: ``evidence.issuer_domain``, else the API's own host:port."""
    domain = settings.evidence.issuer_domain
    if domain is None:
        host = settings.api.host if settings.api.host not in ("0.0.0.0", "::") else "127.0.0.1"
        host = f"[{host}]" if ":" in host else host
        domain = host if settings.api.port in (0, 443) else f"{host}:{settings.api.port}"
    return Issuer(name=settings.evidence.issuer_name, id=did_from_domain(domain), gs1=gs1_keys(settings))


def gs1_keys(settings: GatewaySettings) -> Gs1Keys | None:
    """The plant's GS1 keys from the ``gs1`` settings (check digits computed), None when there are none."""
    g = settings.gs1
    return Gs1Keys(company_prefix=g.company_prefix, gtin=g.gtin, gln=g.gln, lot_uri=g.lot_uri) if g else None


def ensure_identity(settings: GatewaySettings, folder: Path | None = None) -> keys.SigningKey | None:
    """Keyring present and issued under the configured DID (None when create_keys is off and there is none)."""
    if folder is None and not settings.db_url.startswith("sqlite:///") and "JUNKAN_KEYS_DIR" not in os.environ:
        log.warning("no key folder: set JUNKAN_KEYS_DIR (a PostgreSQL store has no folder to put keys beside)")
        return None
    folder = folder or keys_dir_for(settings.db_url)
    issuer = issuer_of(settings)
    lock = FileLock(folder.parent / f".{folder.name}.lock")
    for _ in range(100):  # several workers may start at once: one creates, the others wait
        try:
            lock.acquire()
            break
        except Busy:
            time.sleep(0.05)
    else:
        raise keys.KeyError_(f"{folder}: another process holds {lock.path}")
    try:
        if not (folder / "keyring.json").exists():
            if not settings.evidence.create_keys:
                return None
            key = keys.generate(folder, issuer)
            log.info("created signing key %s for %s in %s", key.kid, issuer.id, folder)
            return key
        ring = keys.load_ring(folder)
        # a DID given to `keys generate --did` stands unless the settings name one; an unconfigured one follows
        configured = settings.evidence.issuer_domain is not None or ring.issuer.id in _UNCONFIGURED
        if not configured:  # the DID stands; the GS1 keys always follow the settings
            issuer = ring.issuer.model_copy(update={"gs1": issuer.gs1})
        if ring.issuer != issuer and settings.evidence.create_keys:
            if ring.issuer.id != issuer.id:
                log.warning("issuer DID changes from %s to %s: evidence signed before verifies only against the "
                            "old DID's document", ring.issuer.id, issuer.id)
            keys.set_issuer(folder, issuer)
        return keys.active(folder)
    finally:
        lock.release()
