"""Import composition files: detect the format, parse, store in one transaction per file, report skips."""

from __future__ import annotations

import logging
from pathlib import Path

from gateway.composition.csv_format import CsvFormatError, parse_csv
from gateway.composition.model import ParseResult
from gateway.composition.repo import log_import, save_products
from gateway.composition.rows import ImportReport
from gateway.composition.xml_formats import FormatError, parse_shai, parse_xml_declaration
from gateway.store.db import Database

log = logging.getLogger("junkan.composition")


def parse_file(data: bytes, source: str, category: str | None = None) -> tuple[str, ParseResult]:
    """Parse by content (ZIP -> .shai, '<' -> XML, otherwise CSV). Raises FormatError for unusable files."""
    head = data.lstrip()[:5]
    if data[:4] == b"PK\x03\x04":
        fmt, result = "chemsherpa-ai", parse_shai(data, source)
    elif head.startswith(b"<") or data.lstrip(b"\xef\xbb\xbf \r\n\t").startswith(b"<"):
        fmt, result = parse_xml_declaration(data, source)
    else:
        try:
            fmt, result = "csv", parse_csv(data, source)
        except CsvFormatError as exc:
            raise FormatError(str(exc)) from None
    for product in result.products:
        if category and not product.category:
            product.category = category
    return fmt, result


def import_bytes(db: Database, data: bytes, source: str, category: str | None = None) -> ImportReport:
    """Import one file's content atomically; returns the report (also logged in ``comp_imports``)."""
    try:
        fmt, result = parse_file(data, source, category)
    except FormatError as exc:
        with db.tx():
            return log_import(db, source, None, data, "rejected", None, str(exc))
    except Exception as exc:  # a parser bug must reject this file, not abort a batch of imports
        log.exception("composition parser failed on %s", source)
        with db.tx():
            return log_import(db, source, None, data, "rejected", None,
                              f"{source}: unreadable ({type(exc).__name__}: {exc})")
    with db.tx():
        save_products(db, result.products, source, data)
        return log_import(db, source, fmt, data, "imported", result)


def import_path(db: Database, path: str | Path, category: str | None = None) -> ImportReport:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return {"source": str(path), "status": "rejected", "error": f"cannot read: {exc}", "products": [],
                "skipped": [], "warnings": [], "format": None, "read": [], "unread_elements": {}}
    return import_bytes(db, data, str(path), category)
