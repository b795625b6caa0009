"""Composition evidence of a lot, in every format (the dashboard links here), and publishing it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Response

from gateway.api.deps import SettingsDep, StoreDep
from gateway.evidence.formats import FORMATS, SUFFIX, keys_dir_for, produce
from gateway.evidence.keys import KeyError_

router = APIRouter(prefix="/api/v1/lots", tags=["evidence"])

Format = Literal["json", "html", "pdf", "epcis", "untp-dcc", "untp-dte", "catenax", "jws"]
assert set(Format.__args__) == set(FORMATS)  # type: ignore[attr-defined]


@router.get("/{lot_id}/evidence", summary="Composition evidence of a lot",
            responses={200: {"content": {"application/json": {}, "text/html": {}, "application/pdf": {},
                                         "application/ld+json": {}, "application/vc+jwt": {}}}})
def evidence(lot_id: str, store: StoreDep, settings: SettingsDep,
             format: Annotated[Format, Query(description="Output format.")] = "json",
             download: Annotated[bool, Query(description="Send as an attachment.")] = False) -> Response:
    try:
        data, media = produce(store, lot_id, format, keys_dir_for(settings.db_url))
    except KeyError as exc:
        raise HTTPException(status_code=404, detail=f"lot {lot_id!r} not found") from exc
    except KeyError_ as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc
    headers = {"Content-Disposition": f'attachment; filename="{lot_id}{SUFFIX[format]}"'} if download else {}
    return Response(content=data, media_type=media, headers=headers)


@router.post("/{lot_id}/evidence/publish", summary="Sign and queue the evidence: EPCIS capture + recycler webhook")
def publish(lot_id: str, store: StoreDep, settings: SettingsDep,
            capture_url: str | None = Query(default=None, description="EPCIS repository base URL (…/capture "
                                            "is appended); omit to skip the EPCIS upload.")) -> dict[str, Any]:
    from gateway.upload.publish import publish_evidence

    try:
        return publish_evidence(store, lot_id, keys_dir_for(settings.db_url), capture_url)
    except KeyError as exc:
        raise HTTPException(status_code=404, detail=f"lot {lot_id!r} not found") from exc
    except KeyError_ as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc
