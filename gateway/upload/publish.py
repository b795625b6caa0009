"""Publish a lot's evidence: sign it, queue its EPCIS document for capture and the recycler's webhook."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from gateway.evidence import status
from gateway.evidence.build import build_evidence
from gateway.evidence.credentials import evidence_credential
from gateway.evidence.epcis import epcis_document
from gateway.evidence.issuable import check_issuable
from gateway.evidence.keys import active
from gateway.evidence.signing import sign
from gateway.store.base import Store
from gateway.upload.outbox import enqueue


def publish_evidence(store: Store, lot_id: str, keys_dir: Path, capture_url: str | None) -> dict[str, Any]:
    """Queue deliveries (idempotent per content); the sender does the network I/O later."""
    db = store.db
    key = active(keys_dir)
    ev = build_evidence(store, db, lot_id, issuer=key.issuer)
    check_issuable(ev)
    token = sign(evidence_credential(ev), status.bind(db, key, ev.evidence_id, lot_id))
    out: dict[str, Any] = {"lot_id": lot_id, "evidence_id": ev.evidence_id, "epcis": None, "webhook": None}
    if capture_url:
        doc = epcis_document(ev)
        events = json.dumps(doc["epcisBody"]["eventList"], sort_keys=True)  # creationDate changes, events do not
        digest = hashlib.sha256(events.encode()).hexdigest()[:32]
        out["epcis"] = enqueue(db, "epcis", capture_url.rstrip("/") + "/capture", f"epcis:{lot_id}:{digest}",
                               json.dumps(doc))
    recycler = ev.lot.recycler
    if recycler and db.one("SELECT recycler FROM webhooks WHERE recycler = ?", (recycler,)):
        body = {"event": "evidence.ready", "lot_id": lot_id, "evidence_id": ev.evidence_id,
                "links": {f: f"/api/v1/lots/{lot_id}/evidence?format={f}" for f in ("json", "pdf", "jws")},
                "jws": token}
        out["webhook"] = enqueue(db, "webhook", recycler, f"webhook:{recycler}:{ev.evidence_id}", json.dumps(body))
    return out
