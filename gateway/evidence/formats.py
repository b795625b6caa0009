"""One entry point for every evidence format (CLI and API share it); the formats are in ``exporters``."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from gateway.evidence import status
from gateway.evidence.build import build_evidence
from gateway.evidence.exporters import EXPORTERS, Exporter
from gateway.evidence.issuable import check_issuable
from gateway.evidence.keys import DEFAULT_ISSUER, KeyError_, SigningKey, active
from gateway.specs.screening import ScreeningSettings
from gateway.store.base import Store
from junkan.core.evidence import Evidence

log = logging.getLogger("junkan.evidence")


class ExportError(Exception):
    """An exporter failed on a lot's evidence; the message names the format and the lot."""


def keys_dir_for(db_url: str) -> Path:
    """``$JUNKAN_KEYS_DIR``, else ``keys/`` beside a SQLite database, else ``./keys``."""
    if env := os.environ.get("JUNKAN_KEYS_DIR"):
        return Path(env)
    if db_url.startswith("sqlite:///"):
        return Path(db_url.removeprefix("sqlite:///")).resolve().parent / "keys"
    return Path("keys")


def exporter(fmt: str) -> Exporter:
    """The registry entry of ``fmt``; ValueError naming the known ones otherwise."""
    try:
        return EXPORTERS[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; one of {', '.join(EXPORTERS)}") from None


def produce(store: Store, lot_id: str, fmt: str, keys_dir: Path | None = None,
            screening: ScreeningSettings | None = None) -> tuple[bytes, str]:
    """Build and render; KeyError for an unknown lot, NotIssuable for an open or empty one, KeyError_ if a
    signing format is asked without a key, ExportError if the exporter fails."""
    entry = exporter(fmt)
    key: SigningKey | None = None
    if keys_dir is not None and (keys_dir / "keyring.json").exists():
        key = active(keys_dir)
    ev = build_evidence(store, store.db, lot_id, issuer=key.issuer if key else DEFAULT_ISSUER, screening=screening)
    check_issuable(ev)  # NotIssuable: open, or empty (said first: a key would not make it issuable)
    if key is None and entry.needs_key:
        raise KeyError_(f"no signing key in {keys_dir}: run `junkan gateway keys generate --dir {keys_dir}`")
    if key is not None and (entry.needs_key or entry.uses_key):  # all it issues is revocable (status list)
        key = status.bind(store.db, key, ev.evidence_id, lot_id)
    return render_as(ev, fmt, key), entry.media_type


def render_as(ev: Evidence, fmt: str, key: SigningKey | None = None) -> bytes:
    """``ev`` in format ``fmt``; ExportError (with the cause chained and logged) when its exporter fails."""
    entry = exporter(fmt)
    if entry.needs_key and key is None:
        raise KeyError_(f"{fmt} needs a signing key")
    try:
        return entry.render(ev, key if entry.needs_key or entry.uses_key else None)
    except Exception as exc:
        log.exception("exporter %s failed on lot %s", fmt, ev.lot.lot_id)
        raise ExportError(f"the {fmt} exporter failed on lot {ev.lot.lot_id!r}: {exc!r}") from exc
