"""The rows of the core tables as the store hands them out, written once: one TypedDict per table, which
mypy checks every reader against (API, dashboard, evidence, CLI) and which the API returns as its response
models (pydantic validates TypedDicts; ``extra="forbid"``: a column added by a migration must be added here).

JSON text columns arrive decoded (``sql.json_columns``); timestamps stay ISO-8601 UTC text as stored.
"""

from __future__ import annotations

from typing import (
    Annotated,
    NotRequired,  # pydantic needs typing_extensions' TypedDict on 3.11
)

from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict

from junkan.core.json_types import JsonObject

_ROW = ConfigDict(extra="forbid")


@with_config(_ROW)
class ReadingRow(TypedDict):
    """``readings``: one row per reading of a stored message."""

    agent: str
    msg_id: Annotated[str, Field(description="Message the reading came in.")]
    idx: Annotated[int, Field(description="Position in that message.")]
    site: str
    line: str
    device: str
    device_seq: Annotated[int, Field(description="The device's own sequence number.")]
    ts: Annotated[str, Field(description="Measurement time (ISO 8601, UTC).")]
    kind: Annotated[str, Field(description="weight, weighing, nir_object, xrf, ident, ...")]
    value: float | None
    unit: str | None
    status: str | None
    lot_id: str | None
    data: Annotated[JsonObject, Field(description="Kind-specific fields (the junkan.core reading models).")]


@with_config(_ROW)
class LotRow(TypedDict):
    """``lots``: one row per lot id (owned by one agent, ``lot_owners``)."""

    lot_id: str
    site: str
    line: str
    agent: str
    status: Annotated[str, Field(description="open or closed.")]
    opened_at: str
    closed_at: str | None
    close_reason: str | None
    net_mass_kg: float
    n_weighings: int
    devices: Annotated[list[str], Field(description="Devices that contributed.")]
    measurement: Annotated[JsonObject, Field(
        description="The agent's lot measurement (junkan.measurement/1) at close; {} while open.")]
    recycler: Annotated[str | None, Field(description="Recycler the lot and its evidence are addressed to.")]
    updated_at: str


@with_config(_ROW)
class DeviceRow(TypedDict):
    """``devices``: the last known state of one device of one agent."""

    agent: str
    device: str
    site: str
    line: str
    driver: str | None
    state: str | None
    last_reading_at: str | None
    frames_ok: int
    frames_bad: int
    reconnects: int
    last_error: str | None
    updated_at: str


@with_config(_ROW)
class AgentRow(TypedDict):
    """``agents``: the last status message of one agent."""

    agent: str
    site: str
    line: str
    session: str
    state: Annotated[str, Field(description="online or offline (the broker's Will).")]
    at: str
    outbox_depth: Annotated[int, Field(description="Readings waiting in the agent's outbox.")]
    outbox_oldest_age_s: float
    open_lot: JsonObject | None
    alarms: list[str]


@with_config(_ROW)
class DeadLetterRow(TypedDict):
    """``dead_letters`` as listed; ``payload`` only when asked for, as text, its head."""

    id: int
    topic: str
    agent: Annotated[str | None, Field(description="The topic's agent (None: the topic names none).")]
    payload: NotRequired[Annotated[str, Field(
        description="The first 2000 characters of the payload (UTF-8, invalid bytes replaced).")]]
    reason: Annotated[str, Field(description="'code: detail'; the codes are listed in docs/reliability.md.")]
    size: Annotated[int | None, Field(description="Bytes of the payload as received.")]
    sha256: Annotated[str | None, Field(description="Of the payload as received.")]
    truncated: Annotated[bool, Field(description="Only the payload's head was kept (over the agent's "
                                     "dead-letter budget, or too large).")]
    received_at: str
    replayed_at: Annotated[str | None, Field(description="When a replay stored it.")]
    replay_result: Annotated[str | None, Field(description="What the last replay gave.")]
