"""The plant as an issuer: its did:web DID document, the revocation list, the credential contexts (all
public: a recycler's verifier fetches them without an account), and revoking issued evidence (admin)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from gateway.api.deps import SettingsDep, StoreDep
from gateway.evidence import credentials, did, keys, status
from gateway.evidence.formats import keys_dir_for
from gateway.evidence.signing import sign

router = APIRouter(tags=["identity"])
NO_KEYS: dict[int | str, dict[str, Any]] = {
    404: {"description": "The plant has no signing keys yet (`junkan gateway keys generate`)."}}


def _ring(settings: SettingsDep) -> tuple[keys.Keyring, Any]:
    folder = keys_dir_for(settings.db_url)
    try:
        return keys.load_ring(folder), folder
    except keys.KeyError_ as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc


@router.get(did.WELL_KNOWN, summary="The plant's DID document (did:web)", response_class=Response,
            responses={200: {"content": {"application/did+json": {}}}, **NO_KEYS})
def did_document(settings: SettingsDep) -> Response:
    ring, folder = _ring(settings)
    doc = did.document(ring, keys.public_jwks(folder))
    return Response(content=json.dumps(doc, indent=2), media_type="application/did+json")


@router.get(status.LIST_PATH, summary="Revocation list of issued evidence (signed BitstringStatusListCredential)",
            response_class=Response, responses={200: {"content": {"application/vc+jwt": {}}}, **NO_KEYS})
def revocation_list(settings: SettingsDep, store: StoreDep) -> Response:
    ring, folder = _ring(settings)
    key = keys.active(folder)
    token = sign(status.list_credential(store.db, ring.issuer.id, ring.issuer.name), key)
    return Response(content=token + "\n", media_type="application/vc+jwt", headers={"Cache-Control": "no-cache"})


@router.get(credentials.CONTEXT_PATH + "{name}", summary="JSON-LD context of the plant's credentials",
            response_class=Response, responses={200: {"content": {"application/ld+json": {}}},
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


class Revoked(BaseModel):
    model_config = ConfigDict(extra="forbid")

    revoked: list[str] = Field(description="Evidence ids newly revoked (already revoked ones are not listed).")


@router.post("/api/v1/evidence/revoke", summary="Revoke issued evidence (its credentials fail verification)",
             response_model=Revoked, responses={404: {"description": "Nothing was issued under that id / lot."},
                                                422: {"description": "Neither or both of evidence_id, lot_id."}})
def revoke(body: Annotated[RevokeRequest, Body()], store: StoreDep) -> dict[str, Any]:
    if (body.evidence_id is None) == (body.lot_id is None):
        raise HTTPException(status_code=422, detail="give exactly one of evidence_id, lot_id")
    try:
        return {"revoked": status.revoke(store.db, evidence_id=body.evidence_id, lot_id=body.lot_id,
                                         reason=body.reason)}
    except KeyError as exc:
        raise HTTPException(status_code=404, detail=str(exc.args[0])) from exc
