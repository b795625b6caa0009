"""What every API route returns, as pydantic models: the OpenAPI document then describes each response,
and FastAPI checks each response against it (a drifting row shape is a test failure, not a silent change).

Rows are returned as the store holds them: timestamps are the stored ISO text, 0/1 flags stay integers.
Free-form documents (a reading's ``data``, a record, a step's ``doc``, an alarm's ``detail``) are JSON
objects. ``extra="forbid"``: a column added by a migration must be added here too.
"""

from __future__ import annotations

from typing import Annotated, Literal, NotRequired

from pydantic import BaseModel, ConfigDict, Field, with_config
from typing_extensions import TypedDict  # pydantic needs typing_extensions' TypedDict on 3.11

from gateway.auth.repo import UserRow
from gateway.composition.rows import ImportReport
from gateway.store.rows import AgentRow, DeadLetterRow, DeviceRow, LotRow, ReadingRow
from gateway.store.version import Versions


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

    detail: str | list[ValidationIssue] | ImportReport = Field(description="Why the request was refused.")


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


class Health(Out):
    status: Literal["ok"]
    mqtt_connected: bool | None = Field(description="Null when this gateway runs without the consumer.")
    versions: Versions = Field(description="Release, wire schemas, store schema (as `junkan --version`).")


@with_config(ConfigDict(extra="forbid"))
class IngestState(TypedDict):
    """The consumer's readiness verdict (``gateway/ingest/health.py``) without its ready flag and problems;
    only ``consumer`` when this gateway runs without one."""

    consumer: Literal["on", "off"]
    mqtt_connected: NotRequired[bool]
    last_commit_age_s: NotRequired[Annotated[float | None, Field(description="Null: nothing committed yet.")]]
    oldest_unacked_age_s: NotRequired[float]
    commit_failures: NotRequired[int]
    consecutive_commit_failures: NotRequired[int]
    last_commit_failure: NotRequired[str | None]
    stall_after_s: NotRequired[float]


class Ready(Out):
    ready: bool
    problems: list[str] = Field(description="Why not ready (empty when ready).")
    ingest: IngestState = Field(description="The consumer's state: MQTT, last commit age, oldest unacked age, "
                                "failures.")
    versions: Versions


# -- auth and users ---------------------------------------------------------------------------------
class Whoami(Out):
    name: str
    role: str
    recycler: str | None = Field(description="The recycler a recycler's lots are filtered by.")
    via: str = Field(description="token, session or open.")
    auth_mode: str


class LoggedOut(Out):
    logged_out: bool


User = UserRow


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
