"""Composition records (import, browse) and the operator queue of unmatched identifications."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field

from gateway.api.deps import StoreDep
from gateway.api.models import Error
from gateway.composition import ident_repo, repo
from gateway.composition.importer import import_bytes
from gateway.composition.rows import IdentMatchRow, ImportReport, ImportRow, ProductRow, ProductSummary
from junkan.core.strict import STRICT

router = APIRouter(prefix="/api/v1/composition", tags=["composition"])
MAX_UPLOAD = 20_000_000


class Resolution(BaseModel):
    model_config = STRICT

    product_id: str | None = Field(description="Composition record to assign; null = not a known product.")
    resolved_by: str | None = Field(default=None, max_length=128, description="Operator name.")


@router.post("/import", summary="Import one composition file (raw body; format detected from content)",
             response_model=ImportReport,
             responses={413: {"model": Error, "description": "File too large."},
                        422: {"model": Error, "description": "Nothing imported: the report says why."}})
async def import_file(request: Request, store: StoreDep,
                      filename: str = Query(default="upload", max_length=256, description="Name for the report."),
                      category: str | None = Query(default=None, max_length=64)) -> ImportReport:
    body = await request.body()
    if len(body) > MAX_UPLOAD:
        raise HTTPException(status_code=413, detail=f"file larger than {MAX_UPLOAD} bytes")
    report = import_bytes(store.db, body, filename, category)
    if report["status"] != "imported":
        raise HTTPException(status_code=422, detail=report)
    return report


@router.get("/products", summary="Imported product records", response_model=list[ProductSummary])
def products(store: StoreDep, q: str | None = Query(default=None, max_length=100),
             limit: int = Query(default=200, ge=1, le=5000)) -> list[ProductSummary]:
    return repo.list_products(store.db, q, limit)


@router.get("/products/{product_id}", summary="One product record with parts, materials and substances",
            response_model=ProductRow)
def product(product_id: str, store: StoreDep) -> ProductRow:
    row = repo.get_product(store.db, product_id)
    if row is None:
        raise HTTPException(status_code=404, detail=f"product {product_id!r} not found")
    return row


@router.get("/imports", summary="Import log with per-record skips and reasons", response_model=list[ImportRow])
def imports(store: StoreDep, limit: int = Query(default=100, ge=1, le=1000)) -> list[ImportRow]:
    return repo.import_log(store.db, limit)


@router.get("/unmatched", summary="Identifications no record matched: for an operator to resolve",
            response_model=list[IdentMatchRow])
def unmatched(store: StoreDep, lot: str | None = Query(default=None, max_length=128),
              limit: int = Query(default=500, ge=1, le=5000)) -> list[IdentMatchRow]:
    db = store.db
    ident_repo.match_pending(db, store)
    return ident_repo.list_matches(db, lot_id=lot, status="unmatched", limit=limit)


@router.get("/identifications", summary="All identification matches of a lot (method and score shown)",
            response_model=list[IdentMatchRow])
def identifications(store: StoreDep, lot: str = Query(max_length=128)) -> list[IdentMatchRow]:
    db = store.db
    ident_repo.match_lot(db, store, lot)
    return ident_repo.list_matches(db, lot_id=lot)


@router.post("/identifications/{agent}/{msg_id}/{idx}/resolve", summary="Operator decision on one identification",
             response_model=IdentMatchRow)
def resolve(agent: str, msg_id: str, idx: Annotated[int, Path(ge=0, le=2**31 - 1)], body: Resolution,
            store: StoreDep) -> IdentMatchRow:
    try:
        return ident_repo.resolve(store.db, agent, msg_id, idx, body.product_id, body.resolved_by)
    except KeyError as exc:
        raise HTTPException(status_code=404, detail=str(exc.args[0])) from exc
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
