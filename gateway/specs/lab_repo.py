"""Lab confirmations in the gateway database (table ``lab_confirmations``, SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.specs.lab import LabConfirmation, LabConfirmationIn
from gateway.store.db import Database, chunks, dumps, marks
from junkan.core.ids import new_id


def attach(db: Database, lot_id: str, entry: LabConfirmationIn, entered_by: str,
           now: datetime | None = None) -> LabConfirmation:
    """Store ``entry`` for ``lot_id``; KeyError if the lot is unknown to the gateway (no lot, no step output,
    no intake): a lab result for a mistyped lot must not sit unused."""
    with db.tx():
        known = db.one("SELECT lot_id FROM lots WHERE lot_id = ?", (lot_id,)) or db.one(
            "SELECT lot_id FROM process_flows WHERE lot_id = ?", (lot_id,)) or db.one(
            "SELECT lot_id FROM intake_lots WHERE lot_id = ?", (lot_id,))
        if known is None:
            raise KeyError(f"lot {lot_id!r} not found")
        conf = LabConfirmation.model_validate({
            **entry.model_dump(), "confirmation_id": f"LAB-{new_id()}", "lot_id": lot_id,
            "entered_by": entered_by, "entered_at": (now or datetime.now(UTC))})
        db.execute("INSERT INTO lab_confirmations (confirmation_id, lot_id, lab, analysed_on, report_sha256, doc, "
                   "entered_by, entered_at) VALUES (?,?,?,?,?,?,?,?)",
                   (conf.confirmation_id, lot_id, conf.lab, conf.analysed_on.isoformat(), conf.report_sha256,
                    dumps(conf.model_dump(mode="json")), entered_by, conf.entered_at.isoformat()))
    return conf


def confirmations(db: Database, lot_id: str) -> list[LabConfirmation]:
    """Every lab confirmation of the lot, oldest analysis first."""
    return [LabConfirmation.model_validate(r["doc"]) for r in db.rows(
        "SELECT doc FROM lab_confirmations WHERE lot_id = ? ORDER BY analysed_on, entered_at", (lot_id,), ("doc",))]


def confirmed_lots(db: Database, lot_ids: list[str]) -> dict[str, list[LabConfirmation]]:
    """Lab confirmations of many lots (the recycled-content report), in a fixed number of queries."""
    out: dict[str, list[LabConfirmation]] = {}
    for part in chunks(sorted(set(lot_ids))):
        for r in db.rows(f"SELECT lot_id, doc FROM lab_confirmations WHERE lot_id IN ({marks(len(part))}) "
                         "ORDER BY analysed_on, entered_at", list(part), ("doc",)):
            out.setdefault(r["lot_id"], []).append(LabConfirmation.model_validate(r["doc"]))
    return out
