"""Publish a lot's evidence: sign it, queue its EPCIS document for capture and the recycler's webhook.

Dedup is per (lot, target URL, document hash): the same content to the same URL is queued once (a retry of
a failed row is the operator's ``retry``), the same content to a corrected URL is a new delivery, and a
lot whose evidence changed (a late intake record, a resolved identification) is sent again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, NotRequired

from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict  # pydantic needs typing_extensions' TypedDict on 3.11

from gateway.evidence import status
from gateway.evidence.build import build_evidence
from gateway.evidence.credentials import evidence_credential
from gateway.evidence.epcis import epcis_document
from gateway.evidence.formats import exporter, render_as
from gateway.evidence.issuable import check_issuable
from gateway.evidence.keys import SigningKey, active
from gateway.evidence.signing import sign
from gateway.specs.screening import ScreeningSettings
from gateway.store.base import Store
from gateway.store.db import Database
from gateway.upload.outbox import dedup_key, enqueue
from junkan.core.evidence import Evidence
from junkan.core.json_types import JsonObject

UNTP_FORMATS = ("untp-dpp-vc", "untp-dcc-vc")


@with_config(ConfigDict(extra="forbid"))
class Published(TypedDict):
    """What one publication queued: the upload outbox id of each delivery (the API's response model)."""

    lot_id: str
    evidence_id: str
    epcis: Annotated[int | None, Field(description="Upload outbox id of the EPCIS capture (null: no capture URL "
                                       "given).")]
    webhook: Annotated[int | None, Field(description="Upload outbox id of the recycler webhook (null: none "
                                         "registered).")]
    untp: NotRequired[Annotated[dict[str, int | None], Field(
        description="Upload outbox id of each signed UNTP credential, by format (only with a UNTP endpoint).")]]


def capture_target(capture_url: str) -> str:
    """The capture endpoint of an EPCIS repository base URL."""
    return capture_url.rstrip("/") + "/capture"


def events_sha256(doc: JsonObject) -> str:
    """The EPCIS document's content hash: its event list (``creationDate`` and the document id change with
    every issue, the events do not)."""
    return hashlib.sha256(json.dumps(doc["epcisBody"]["eventList"], sort_keys=True).encode()).hexdigest()


def evidence_sha256(ev: Evidence) -> str:
    """The evidence's content hash without its id and issue time (both change with every issue)."""
    body = ev.model_dump(mode="json", exclude={"evidence_id", "issued_at"})
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def publish_evidence(store: Store, lot_id: str, keys_dir: Path, capture_url: str | None,
                     untp_url: str | None = None, untp_formats: Sequence[str] = UNTP_FORMATS, *,
                     screening: ScreeningSettings | None = None) -> Published:
    """Queue deliveries (idempotent per lot, URL and content); the sender does the network I/O later.
    ``untp_url``: also queue the lot's signed UNTP credentials (``untp_formats``) for that endpoint.
    ``screening``: the gateway's ``screening.*`` settings (else the defaults: what is published must be what
    the API and CLI issue for the same settings)."""
    db = store.db
    key = active(keys_dir)
    ev = build_evidence(store, db, lot_id, issuer=key.issuer, screening=screening)
    check_issuable(ev)
    out: Published = {"lot_id": lot_id, "evidence_id": ev.evidence_id, "epcis": None, "webhook": None}
    with db.tx():  # every row of this publication, or none (the closed-lot scan then tries the lot again)
        _queue(db, ev, key, lot_id, capture_url, untp_url, untp_formats, out)
    return out


def _queue(db: Database, ev: Evidence, key: SigningKey, lot_id: str, capture_url: str | None, untp_url: str | None,
           untp_formats: Sequence[str], out: Published) -> None:
    if capture_url:
        doc = epcis_document(ev)
        digest, target = events_sha256(doc), capture_target(capture_url)
        out["epcis"] = enqueue(db, "epcis", target, dedup_key("epcis", lot_id, digest, target), json.dumps(doc),
                               lot_id=lot_id, target_url=target, doc_sha256=digest,
                               legacy_key=f"epcis:{lot_id}:{digest[:32]}")
    bound = status.bind(db, key, ev.evidence_id, lot_id)  # issued: every credential of it is revocable
    token = sign(evidence_credential(ev), bound)
    recycler = ev.lot.recycler
    hook = db.one("SELECT url FROM webhooks WHERE recycler = ?", (recycler,)) if recycler else None
    if recycler and hook:
        digest = evidence_sha256(ev)
        body = {"event": "evidence.ready", "lot_id": lot_id, "evidence_id": ev.evidence_id,
                "links": {f: f"/api/v1/lots/{lot_id}/evidence?format={f}" for f in ("json", "pdf", "jws")},
                "jws": token}
        out["webhook"] = enqueue(db, "webhook", recycler, dedup_key("webhook", lot_id, digest, hook["url"]),
                                 json.dumps(body), lot_id=lot_id, target_url=hook["url"], doc_sha256=digest)
    if untp_url:
        untp: dict[str, int | None] = {}
        out["untp"] = untp
        content = evidence_sha256(ev)
        for fmt in untp_formats:
            digest = hashlib.sha256(f"{fmt}:{content}".encode()).hexdigest()  # one document per format
            body_bytes = render_as(ev, fmt, bound)
            untp[fmt] = enqueue(db, "untp", untp_url, dedup_key("untp", lot_id, digest, untp_url), body_bytes.decode(),
                                {"Content-Type": exporter(fmt).media_type}, lot_id=lot_id, target_url=untp_url,
                                doc_sha256=digest)
