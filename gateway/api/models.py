"""What every API route returns, as pydantic models: the OpenAPI document then describes each response,
and FastAPI checks each response against it (a drifting row shape is a test failure, not a silent change).

Rows are returned as the store holds them: timestamps are the stored ISO text, 0/1 flags stay integers.
Free-form documents (a reading's ``data``, a record, a step's ``doc``, an alarm's ``detail``) are JSON
objects. ``extra="forbid"``: a column added by a migration must be added here too.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, with_config

from gateway.store.rows import AgentRow, DeadLetterRow, DeviceRow, LotRow, ReadingRow

Json = dict[str, Any]


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- errors ---------------------------------------------------------------------------------------
class ValidationIssue(BaseModel):
    """One problem of a refused request, as FastAPI reports it."""

    model_config = ConfigDict(extra="allow")

    loc: list[str | int] = Field(description="Where: ('body'|'query'|'path'|'header', field, ...).")
    msg: str = Field(description="What is wrong.")
    type: str = Field(description="Error type (pydantic's).")


class Error(Out):
    """Every error answer (4xx): ``detail`` says why, as text, as FastAPI's list of validation issues,
    or (a refused import) as the import report."""

    detail: str | list[ValidationIssue] | Json = Field(description="Why the request was refused.")


# -- lots, readings, devices, agents: the store's row TypedDicts (gateway/store/rows.py) are the models --
Reading = ReadingRow
Lot = LotRow
Device = DeviceRow
Agent = AgentRow
DeadLetter = DeadLetterRow


@with_config(ConfigDict(extra="forbid"))
class LotWithWeighings(LotRow):
    weighings: Annotated[list[ReadingRow], Field(description="The lot's weighing readings, oldest first.")]


class RecyclerAssigned(Out):
    lot_id: str
    recycler: str | None


class DeadLetterReplay(Out):
    id: int
    topic: str
    result: str = Field(description="stored, duplicate (stored before), 'still refused: <reason>', 'rejected: "
                        "<reason>', or 'skipped: only the payload's head was kept'.")


class CommandSent(Out):
    cmd_id: str
    action: str
    lot_id: str | None
    agents: list[str] = Field(description="Agents the command was published to.")


class Published(Out):
    lot_id: str
    evidence_id: str
    epcis: int | None = Field(description="Upload outbox id of the EPCIS capture (null: no capture URL given).")
    webhook: int | None = Field(description="Upload outbox id of the recycler webhook (null: none registered).")


class Health(Out):
    status: Literal["ok"]
    mqtt_connected: bool | None = Field(description="Null when this gateway runs without the consumer.")
    versions: Json = Field(description="Release, wire schemas, store schema (as `junkan --version`).")


class Ready(Out):
    ready: bool
    problems: list[str] = Field(description="Why not ready (empty when ready).")
    ingest: Json = Field(description="The consumer's state: MQTT, last commit age, oldest unacked age, failures.")
    versions: Json


# -- auth and users ---------------------------------------------------------------------------------
class Whoami(Out):
    name: str
    role: str
    recycler: str | None = Field(description="The recycler a recycler's lots are filtered by.")
    via: str = Field(description="token, session or open.")
    auth_mode: str


class LoggedOut(Out):
    logged_out: bool


class User(Out):
    name: str
    role: str
    recycler: str | None
    token_id: str = Field(description="Public half of the token (the secret is never stored).")
    created_at: str
    revoked_at: str | None


class UserCreated(Out):
    name: str
    role: str
    token: str = Field(description="The token: shown in this response only.")


class Rotated(Out):
    name: str
    token: str = Field(description="The new token: shown in this response only.")


class Revoked(Out):
    name: str
    revoked: bool
