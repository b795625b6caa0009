"""The JSON Schema of every wire message and domain document, as ``junkan schemas export`` writes them.

``docs/schemas/`` holds the committed copies; tests/core/test_schemas.py fails when they differ from what
the models produce, so a model change ships with its schema (and a reviewer sees the wire change).
"""

from __future__ import annotations

import json

from pydantic import BaseModel

from junkan.core.evidence import Evidence
from junkan.core.lot_evidence import LotEvidence
from junkan.core.measurement_model import Measurement
from junkan.core.messages import AckMessage, CommandMessage, LotMessage, ReadingMessage, StatusMessage

BASE_ID = "https://junkan.invalid/schemas/"

DOCUMENTS: dict[str, tuple[type[BaseModel], str]] = {
    "junkan.reading.v1.json": (ReadingMessage, "junkan.reading/1: a batch of readings (agent -> gateway)."),
    "junkan.lot.v1.json": (LotMessage, "junkan.lot/1: a lot opened or closed, with its measurement."),
    "junkan.status.v1.json": (StatusMessage, "junkan.status/1: retained birth / last will of an agent."),
    "junkan.ack.v1.json": (AckMessage, "junkan.ack/1: the gateway's acknowledgements after its commit."),
    "junkan.cmd.v1.json": (CommandMessage, "junkan.cmd/1: open or close a lot on a line."),
    "junkan.measurement.v1.json": (Measurement, "junkan.measurement/1: a closed lot's measurement."),
    "junkan.evidence.v1.json": (Evidence, "junkan.evidence/1: the composition evidence of a lot."),
    "junkan.lot-evidence.v2.json": (LotEvidence, "An open lot's folded readings as the agent persists them "
                                                 "(layout 2; layout 1 is read and upgraded)."),
}


def schema(name: str) -> dict[str, object]:
    """The JSON Schema (draft 2020-12) of one document, what a producer must send / a consumer accepts."""
    model, description = DOCUMENTS[name]
    body = model.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": BASE_ID + name,
            "description": description, **{k: v for k, v in body.items() if k != "description"}}


def render(name: str) -> str:
    """The file's exact text (sorted by nothing but the model's own field order; one trailing newline)."""
    return json.dumps(schema(name), indent=2, ensure_ascii=False) + "\n"
