"""One entry point for every evidence format (CLI and API share it)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from gateway.evidence import catenax, epcis, render, untp
from gateway.evidence.build import build_evidence
from gateway.evidence.keys import DEFAULT_ISSUER, KeyError_, SigningKey, active
from gateway.evidence.signing import sign
from gateway.store.base import Store

FORMATS = ("json", "html", "pdf", "epcis", "untp-dcc", "untp-dte", "catenax", "jws")
MEDIA = {"json": "application/json", "html": "text/html; charset=utf-8", "pdf": "application/pdf",
         "epcis": "application/ld+json", "untp-dcc": "application/ld+json", "untp-dte": "application/ld+json",
         "catenax": "application/json", "jws": "application/vc+jwt"}
SUFFIX = {"json": ".json", "html": ".html", "pdf": ".pdf", "epcis": ".epcis.jsonld", "untp-dcc": ".dcc.json",
          "untp-dte": ".dte.json", "catenax": ".catenax.json", "jws": ".jwt"}


def keys_dir_for(db_url: str) -> Path:
    """``$JUNKAN_KEYS_DIR``, else ``keys/`` beside a SQLite database, else ``./keys``."""
    if env := os.environ.get("JUNKAN_KEYS_DIR"):
        return Path(env)
    if db_url.startswith("sqlite:///"):
        return Path(db_url.removeprefix("sqlite:///")).resolve().parent / "keys"
    return Path("keys")


def evidence_credential(ev: dict[str, Any]) -> dict[str, Any]:
    """The evidence as a W3C VC 2.0 payload (what the JWS signs)."""
    return {"@context": ["https://www.w3.org/ns/credentials/v2", "https://junkan.invalid/credentials/evidence/v1"],
            "type": ["VerifiableCredential", "CompositionEvidenceCredential"], "id": ev["evidence_id"],
            "issuer": {"id": ev["issuer"]["id"], "name": ev["issuer"]["name"]},
            "validFrom": ev["issued_at"], "credentialSubject": ev}


def produce(store: Store, lot_id: str, fmt: str, keys_dir: Path | None = None) -> tuple[bytes, str]:
    """Build and render; KeyError for an unknown lot, KeyError_ if ``jws`` is asked without a key."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    key: SigningKey | None = None
    if keys_dir is not None and (keys_dir / "keyring.json").exists():
        key = active(keys_dir)
    elif fmt == "jws":
        raise KeyError_(f"no signing key in {keys_dir}: run `junkan gateway keys generate --dir {keys_dir}`")
    issuer = key.issuer if key else DEFAULT_ISSUER
    ev = build_evidence(store, store.db, lot_id, issuer=issuer)
    return render_as(ev, fmt, key), MEDIA[fmt]


def render_as(ev: dict[str, Any], fmt: str, key: SigningKey | None = None) -> bytes:
    def js(value: Any) -> bytes:
        return json.dumps(value, ensure_ascii=False, indent=2, default=str).encode()

    if fmt == "json":
        return js(ev)
    if fmt == "html":
        return render.html(ev).encode()
    if fmt == "pdf":
        return render.pdf(ev)
    if fmt == "epcis":
        return js(epcis.epcis_document(ev))
    if fmt == "untp-dcc":
        return js(untp.dcc(ev))
    if fmt == "untp-dte":
        return js(untp.dte(ev))
    if fmt == "catenax":
        return js(catenax.secondary_material_content(ev))
    if fmt == "jws":
        if key is None:
            raise KeyError_("jws needs a signing key")
        return (sign(evidence_credential(ev), key) + "\n").encode()
    raise ValueError(f"unknown format {fmt!r}")
