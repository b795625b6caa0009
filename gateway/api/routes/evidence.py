"""Composition evidence of a lot, in every format (the dashboard links here), and publishing it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response

from gateway.api.deps import SettingsDep, StoreDep
from gateway.evidence.exporters import EXPORTERS
from gateway.evidence.formats import ExportError, keys_dir_for, produce
from gateway.evidence.issuable import NotIssuable
from gateway.evidence.keys import KeyError_
from gateway.upload.publish import Published, publish_evidence
from junkan.core.json_types import JsonObject

router = APIRouter(prefix="/api/v1/lots", tags=["evidence"])

FORMAT_QUERY = Query(description="Output format: " + "; ".join(f"{e.key}: {e.description}" for e in EXPORTERS.values()),
                     json_schema_extra={"enum": list(EXPORTERS)})


def _content() -> dict[str, JsonObject]:
    """The 200 answer's media types as the exporter registry has them, each with what it holds (OpenAPI)."""
    keys: dict[str, list[str]] = {}
    for e in EXPORTERS.values():
        keys.setdefault(e.media_type.split(";")[0], []).append(e.key)
    binary = {e.media_type.split(";")[0] for e in EXPORTERS.values() if e.binary}

    def schema(media: str) -> JsonObject:
        if media in binary:
            return {"type": "string", "format": "binary"}
        return {"type": "object"} if media.endswith("json") else {"type": "string"}

    return {media: {"schema": {**schema(media), "description": "format=" + ", ".join(formats)}}
            for media, formats in keys.items()}


def _refused(request: Request, exc: NotIssuable) -> HTTPException:
    from gateway.dashboard.i18n import negotiate

    lang = negotiate(request.cookies.get("lang"), request.headers.get("accept-language"))
    return HTTPException(status_code=409, detail=exc.message(lang))


@router.get("/{lot_id}/evidence", summary="Composition evidence of a lot",
            responses={200: {"content": _content(), "description": "The evidence in the format asked for."},
                       409: {"description": "A signing format without a signing key, or a lot still open or "
                             "empty (no evidence for it; the detail says why, in the reader's language)."},
                       422: {"description": "Unknown format."},
                       500: {"description": "The format's exporter failed (the detail names it)."}})
def evidence(lot_id: str, request: Request, store: StoreDep, settings: SettingsDep,
             format: Annotated[str, FORMAT_QUERY] = "json",
             download: Annotated[bool, Query(description="Send as an attachment.")] = False) -> Response:
    entry = EXPORTERS.get(format)
    if entry is None:
        raise HTTPException(status_code=422, detail=f"unknown format {format!r}; one of {', '.join(EXPORTERS)}")
    try:
        data, media = produce(store, lot_id, entry.key, keys_dir_for(settings.db_url), settings.screening)
    except KeyError as exc:
        raise HTTPException(status_code=404, detail=f"lot {lot_id!r} not found") from exc
    except NotIssuable as exc:
        raise _refused(request, exc) from exc
    except KeyError_ as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc
    except ExportError as exc:
        raise HTTPException(status_code=500, detail=str(exc)) from exc
    headers = {"Content-Disposition": f'attachment; filename="{lot_id}{entry.suffix}"'} if download else {}
    return Response(content=data, media_type=media, headers=headers)


@router.post("/{lot_id}/evidence/publish", summary="Sign and queue the evidence: EPCIS capture + recycler webhook",
             response_model=Published, responses={409: {"description": "No signing key is configured, or the "
                                                        "lot is still open or empty."}})
def publish(lot_id: str, request: Request, store: StoreDep, settings: SettingsDep,
            capture_url: str | None = Query(default=None, description="EPCIS repository base URL (…/capture "
                                            "is appended); omit to skip the EPCIS upload.")) -> Published:
    try:
        return publish_evidence(store, lot_id, keys_dir_for(settings.db_url), capture_url)
    except NotIssuable as exc:
        raise _refused(request, exc) from exc
    except KeyError as exc:
        raise HTTPException(status_code=404, detail=f"lot {lot_id!r} not found") from exc
    except KeyError_ as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc
