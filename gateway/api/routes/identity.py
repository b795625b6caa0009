"""The plant as an issuer: its did:web DID document, the revocation list, the credential contexts (all
public: a recycler's verifier fetches them without an account), and revoking issued evidence (admin)."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path as FsPath
from typing import Annotated

from fastapi import APIRouter, Body, HTTPException, Path, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from gateway.api.deps import SettingsDep, StoreDep
from gateway.evidence import credentials, did, keys, status, verify_link
from gateway.evidence.formats import keys_dir_for
from gateway.evidence.signing import sign
from junkan.core.json_types import JsonObject

router = APIRouter(tags=["identity"])
NO_KEYS: dict[int | str, JsonObject] = {
    404: {"description": "The plant has no signing keys yet (`junkan gateway keys generate`)."}}
# What the public documents are (OpenAPI fragments): their own standards define them, not this API.
DID_DOCUMENT: JsonObject = {
    "type": "object", "required": ["@context", "id", "verificationMethod", "assertionMethod"],
    "description": "W3C DID Core document of the plant's did:web: every non-revoked key as a JsonWebKey "
                   "verification method usable for assertions.",
    "properties": {"@context": {"type": "array", "items": {"type": "string"}}, "id": {"type": "string"},
                   "verificationMethod": {"type": "array", "items": {"type": "object"}},
                   "assertionMethod": {"type": "array", "items": {"type": "string"}},
                   "authentication": {"type": "array", "items": {"type": "string"}}}}
VC_JWT: JsonObject = {"type": "string", "description": "A W3C BitstringStatusListCredential as VC-JWT (JWS compact "
                      "serialisation, EdDSA), newline-terminated."}
JSON_LD_CONTEXT: JsonObject = {"type": "object", "required": ["@context"],
                               "description": "A JSON-LD 1.1 context document."}


def _ring(settings: SettingsDep) -> tuple[keys.Keyring, FsPath]:
    folder = keys_dir_for(settings.db_url)
    try:
        return keys.load_ring(folder), folder
    except keys.KeyError_ as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc


@router.get(did.WELL_KNOWN, summary="The plant's DID document (did:web)", response_class=Response,
            responses={200: {"content": {"application/did+json": {"schema": DID_DOCUMENT}}}, **NO_KEYS})
def did_document(settings: SettingsDep) -> Response:
    ring, folder = _ring(settings)
    doc = did.document(ring, keys.public_jwks(folder))
    return Response(content=json.dumps(doc, indent=2), media_type="application/did+json")


@router.get(status.LIST_PATH, summary="Revocation list of issued evidence (signed BitstringStatusListCredential)",
            response_class=Response, responses={200: {"content": {"application/vc+jwt": {"schema": VC_JWT}}},
                                                **NO_KEYS})
def revocation_list(settings: SettingsDep, store: StoreDep) -> Response:
    ring, folder = _ring(settings)
    key = keys.active(folder)
    token = sign(status.list_credential(store.db, ring.issuer.id, ring.issuer.name), key)
    return Response(content=token + "\n", media_type="application/vc+jwt", headers={"Cache-Control": "no-cache"})


@router.get(credentials.CONTEXT_PATH + "{name}", summary="JSON-LD context of the plant's credentials",
            response_class=Response, responses={200: {"content": {"application/ld+json": {"schema": JSON_LD_CONTEXT}}},
                                                404: {"description": "No such context."}})
def context(name: Annotated[str, Path(description="File name, e.g. evidence-v1.jsonld.", max_length=64)]
            ) -> Response:
    try:
        doc = credentials.context_document(name)
    except KeyError as exc:
        raise HTTPException(status_code=404, detail=f"no context {name!r}") from exc
    return Response(content=json.dumps(doc, indent=2), media_type="application/ld+json",
                    headers={"Cache-Control": "public, max-age=86400"})


class RevokeRequest(BaseModel):
    """One evidence id, or every evidence issued for a lot."""

    model_config = ConfigDict(extra="forbid")

    evidence_id: str | None = Field(default=None, max_length=300, description="urn:junkan:evidence:...")
    lot_id: str | None = Field(default=None, max_length=200, description="Revoke every evidence of this lot.")
    reason: str = Field(default="", max_length=500, description="Why (kept in the store, not published).")


class RevokedEvidence(BaseModel):
    model_config = ConfigDict(extra="forbid")

    revoked: list[str] = Field(description="Evidence ids newly revoked (already revoked ones are not listed).")


@router.post("/api/v1/evidence/revoke", summary="Revoke issued evidence (its credentials fail verification)",
             responses={404: {"description": "Nothing was issued under that id / lot."},
                        422: {"description": "Neither or both of evidence_id, lot_id."}})
def revoke(body: Annotated[RevokeRequest, Body()], store: StoreDep) -> RevokedEvidence:
    if (body.evidence_id is None) == (body.lot_id is None):
        raise HTTPException(status_code=422, detail="give exactly one of evidence_id, lot_id")
    try:
        return RevokedEvidence(revoked=status.revoke(store.db, evidence_id=body.evidence_id, lot_id=body.lot_id,
                                             reason=body.reason))
    except KeyError as exc:
        raise HTTPException(status_code=404, detail=str(exc.args[0])) from exc


_VERDICT = {"conformant": "conformant to every registered specification / 全仕様に適合",
            "non_conformant": "NOT conformant / 不適合", "insufficient_data": "insufficient data / データ不足",
            "no_spec": "no buyer specification / 購入者仕様なし"}


@router.get(verify_link.VERIFY_PATH, summary="Check a certificate: the figures as issued and whether revoked",
            response_class=HTMLResponse,
            responses={200: {"description": "The seal is valid: the figures as issued.", "content": {"text/html": {}}},
                       404: {"description": "No valid seal of this plant.", "content": {"text/html": {}}}})
def verify_certificate(request: Request, settings: SettingsDep, store: StoreDep) -> HTMLResponse:
    """Public, like the DID document: what the QR code of a PDF certificate opens. Only a query sealed by
    one of the plant's keys is answered, so the page cannot be used to list lots."""
    query = {k: v[:400] for k, v in request.query_params.items()}
    values = verify_link.opened(query, keys_dir_for(settings.db_url))
    if values is None:
        body = ("<h1>Not verified / 検証できません</h1><p>This link carries no valid seal of this plant: the "
                "certificate may be forged or altered, or the key that sealed it was revoked.</p>"
                "<p>このリンクにはこの工場の有効な封印がありません。証明書が偽造・改ざんされたか、封印した鍵が失効しています。</p>")
        return HTMLResponse(_page(body), status_code=404)
    row = status.status_of(store.db, values["e"])
    if row is None:
        state = "not registered at this gateway / このゲートウェイに登録なし"
    elif row["revoked_at"]:
        state = f"REVOKED {str(row['revoked_at'])[:19]} UTC / 失効済み"
    else:
        state = "valid, not revoked / 有効（失効なし）"
    shares = ", ".join(f"{name} {pct} %" for name, pct in (x.split(":", 1) for x in values["c"].split(",") if x))
    rows = [("Evidence / エビデンス", values["e"]), ("Lot / ロット", values["lot"]),
            ("Net mass / 正味質量", f"{values['m']} kg"), ("Verdict / 判定", _VERDICT.get(values["v"], values["v"])),
            ("Recycled-content claims / 再生材含有の主張",
             "blocked / 保留" if values["b"] == "1" else "not blocked / 保留なし"),
            ("Composition / 組成", shares or "—"), ("Contaminant flags / 有害物質の判定", values["f"] or "none / なし"),
            ("Issued / 発行", values["i"]), ("Signing key / 署名鍵", values["k"]), ("Status / 状態", state)]
    table = "".join(f"<tr><th>{escape(a)}</th><td>{escape(b)}</td></tr>" for a, b in rows)
    body = (f"<h1>Certificate as issued / 発行時の証明書</h1><table>{table}</table>"
            "<p>Compare these figures with the sheet: a difference means it was altered. "
            "数値を証明書と照合してください。違いがあれば改ざんされています。</p>")
    return HTMLResponse(_page(body), status_code=200)


def _page(body: str) -> str:
    return ('<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
            'content="width=device-width, initial-scale=1"><title>junkan certificate check</title><style>'
            "body{font-family:sans-serif;max-width:44rem;margin:1rem auto;padding:0 1rem}"
            "th{text-align:left;padding-right:1rem;vertical-align:top}td{word-break:break-all}</style></head>"
            f"<body>{body}</body></html>")
