"""Composition records in the gateway database: upsert per product, one transaction per file."""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from typing import cast

from gateway.composition.matching import normalise_model
from gateway.composition.model import ParseResult, Product, read_summary
from gateway.composition.rows import (
    ImportReport,
    ImportRow,
    ModelIndexRow,
    ProductRow,
    ProductSummary,
    SkipEntry,
    SubstanceRow,
)
from gateway.store.db import Database, dumps, now_iso


def save_products(db: Database, products: list[Product], source: str, data: bytes) -> None:
    """Insert or replace each product and its substance rows (re-import updates, never duplicates)."""
    sha = hashlib.sha256(data).hexdigest()
    at = now_iso()
    for p in products:
        db.execute("DELETE FROM comp_substances WHERE product_id = ?", (p.product_id,))
        db.execute("DELETE FROM comp_products WHERE product_id = ?", (p.product_id,))
        db.execute(
            "INSERT INTO comp_products (product_id, model, model_norm, manufacturer, category, mass_mg, gtin, "
            "declaration_class, record, source, source_sha256, imported_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (p.product_id, p.model, normalise_model(p.model), p.manufacturer, p.category, p.mass_mg, p.gtin,
             p.declaration_class, dumps(asdict(p)), source, sha, at))
        rows = [(p.product_id, part.name, m.name, m.material_class, m.mass_mg, s.name, s.cas, s.mass_mg, s.fraction,
                 s.dsl_ref, s.declared, int(s.below_lod), s.lod_fraction, dumps(s.flags))
                for part in p.parts for m in part.materials for s in m.substances]
        for row in rows:
            db.execute("INSERT INTO comp_substances (product_id, part, material, material_class, material_mass_mg, "
                       "substance, cas, mass_mg, fraction, dsl_ref, declared, below_lod, lod_fraction, flags) "
                       "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", row)


def log_import(db: Database, source: str, fmt: str | None, data: bytes, status: str, result: ParseResult | None,
               error: str | None = None) -> ImportReport:
    report: ImportReport = {
        "source": source, "format": fmt, "status": status, "error": error,
        "products": [p.product_id for p in result.products] if result else [],
        "skipped": [SkipEntry(record=s.record, reason=s.reason) for s in result.skipped] if result else [],
        "warnings": [SkipEntry(record=s.record, reason=s.reason) for s in result.warnings] if result else [],
        "read": [read_summary(p) for p in result.products] if result else [],
        "unread_elements": dict(sorted(result.unread.items())) if result else {},
    }
    db.execute("INSERT INTO comp_imports (source, format, sha256, imported_at, status, n_products, n_skipped, report) "
               "VALUES (?,?,?,?,?,?,?,?)",
               (source, fmt, hashlib.sha256(data).hexdigest(), now_iso(), status, len(report["products"]),
                len(report["skipped"]), dumps(report)))
    return report


def get_product(db: Database, product_id: str) -> ProductRow | None:
    return cast(ProductRow | None, db.one("SELECT * FROM comp_products WHERE product_id = ?", (product_id,),
                                          ("record",)))


def import_log(db: Database, limit: int) -> list[ImportRow]:
    """The newest imports first, each with its report."""
    return cast(list[ImportRow], db.rows("SELECT * FROM comp_imports ORDER BY id DESC LIMIT ?", (limit,), ("report",)))


def list_products(db: Database, q: str | None = None, limit: int = 1000) -> list[ProductSummary]:
    cols = "product_id, model, manufacturer, category, mass_mg, gtin, declaration_class, source, imported_at"
    if q:
        like = f"%{q}%"
        return cast(list[ProductSummary], db.rows(
            f"SELECT {cols} FROM comp_products WHERE model LIKE ? OR product_id LIKE ? "
            "OR manufacturer LIKE ? ORDER BY model LIMIT ?", (like, like, like, limit)))
    return cast(list[ProductSummary], db.rows(f"SELECT {cols} FROM comp_products ORDER BY model LIMIT ?", (limit,)))


def model_index(db: Database) -> list[ModelIndexRow]:
    return cast(list[ModelIndexRow], db.rows(
        "SELECT product_id, model, model_norm, gtin FROM comp_products"))


def substances_of(db: Database, product_ids: list[str]) -> list[SubstanceRow]:
    if not product_ids:
        return []
    marks = ",".join("?" * len(product_ids))
    return cast(list[SubstanceRow], db.rows(f"SELECT * FROM comp_substances WHERE product_id IN ({marks})",
                                            product_ids))
