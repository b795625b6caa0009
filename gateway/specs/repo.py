"""Requirement specs in the gateway database."""

from __future__ import annotations

from gateway.specs.model import RequirementSpec
from gateway.store.db import Database, dumps, now_iso


def save_spec(db: Database, spec: RequirementSpec) -> None:
    with db.tx():
        db.execute("DELETE FROM req_specs WHERE spec_id = ?", (spec.spec_id,))
        db.execute("INSERT INTO req_specs (spec_id, doc, updated_at) VALUES (?,?,?)",
                   (spec.spec_id, dumps(spec.model_dump(mode="json")), now_iso()))


def get_spec(db: Database, spec_id: str) -> RequirementSpec | None:
    row = db.one("SELECT doc FROM req_specs WHERE spec_id = ?", (spec_id,), ("doc",))
    return RequirementSpec.model_validate(row["doc"]) if row else None


def list_specs(db: Database) -> list[RequirementSpec]:
    return [RequirementSpec.model_validate(r["doc"]) for r in db.rows("SELECT doc FROM req_specs ORDER BY spec_id",
                                                                      (), ("doc",))]


def delete_spec(db: Database, spec_id: str) -> bool:
    with db.tx():
        return bool(db.execute("DELETE FROM req_specs WHERE spec_id = ?", (spec_id,)))

