"""Versioned message schemas: defined once here, used by the agent to build and the gateway to validate.

Every durable message (readings, lot events) travels in an envelope carrying a unique ``msg_id`` (ULID),
the agent's persistent sequence number ``seq`` and the ``session`` id of the agent process that built it.
The gateway deduplicates on (agent, msg_id) and acknowledges on the ``ack`` topic after its commit.
Schema names end in ``/1``; an incompatible change gets ``/2`` and both are accepted during a migration.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, NotRequired

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from typing_extensions import TypedDict  # pydantic needs this one on Python < 3.12

from junkan.core.measurement_model import LiveMass, LotMeasurement
from junkan.core.names import ID_PATTERN, NAME_PATTERN, ULID_PATTERN

MAX_PAYLOAD_BYTES = 1_000_000
MAX_BATCH = 1000
# What the stores' integer columns hold (BIGINT / INTEGER on PostgreSQL, SQLite's int64): a larger number
# would pass validation and then fail the insert, so the schema refuses it.
INT64_MAX = 2**63 - 1
INT32_MAX = 2**31 - 1
_NAME = NAME_PATTERN  # agents, devices, sites, lines: the same rule as a topic segment
_ID = ID_PATTERN  # lot ids
_ULID = ULID_PATTERN


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# A reading's fields, defined once: the model below (what agents build) and the record type the gateway
# validates into (a plain dict per reading, ~3x cheaper at 1000 readings a message) share these types.
DeviceName = Annotated[str, Field(pattern=_NAME, description="Device name from the agent config.")]
DeviceSeq = Annotated[int, Field(ge=0, le=INT64_MAX,
                                 description="Per-device counter, persistent across agent restarts.")]
ReadingTs = Annotated[datetime, Field(description="When the device produced the reading (agent clock, UTC).")]
ReadingKind = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$",
                                   description="weight, weighing, xrf, nir_counts ...")]
ReadingValue = Annotated[float | None, Field(allow_inf_nan=False, description="Main value, if any.")]
ReadingUnit = Annotated[str | None, Field(max_length=16)]
# degraded: a value the agent could only partly establish (e.g. a weighing whose tare is unknown); data says why.
ReadingStatus = Literal["ok", "unstable", "overload", "underload", "error", "degraded"] | None
ReadingLot = Annotated[str | None, Field(pattern=_ID, description="Lot open on the line, if any.")]
ReadingData = Annotated[dict[str, Any], Field(description="Kind-specific details.")]


class Reading(_Strict):
    """One reading from one device, as the agent understood it."""

    device: DeviceName
    device_seq: DeviceSeq
    ts: ReadingTs
    kind: ReadingKind
    value: ReadingValue = None
    unit: ReadingUnit = None
    status: ReadingStatus = None
    lot_id: ReadingLot = None
    data: ReadingData = Field(default_factory=dict)


class ReadingRecord(TypedDict):
    """``Reading`` as a dict: same fields, same constraints; optional keys may be absent (= the default)."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]
    device: DeviceName
    device_seq: DeviceSeq
    ts: ReadingTs
    kind: ReadingKind
    value: NotRequired[ReadingValue]
    unit: NotRequired[ReadingUnit]
    status: NotRequired[ReadingStatus]
    lot_id: NotRequired[ReadingLot]
    data: NotRequired[ReadingData]


class ReadingBody(_Strict):
    readings: list[Reading] = Field(min_length=1, max_length=MAX_BATCH)


class ReadingRecordsBody(_Strict):
    readings: list[ReadingRecord] = Field(min_length=1, max_length=MAX_BATCH)


class LotSummary(_Strict):
    """What the agent knows about a lot when it is opened or closed."""

    lot_id: str = Field(pattern=_ID)
    site: str
    line: str
    agent: str
    status: Literal["open", "closed"]
    opened_at: datetime
    closed_at: datetime | None = None
    close_reason: Literal["operator", "max_mass", "max_duration", "shutdown"] | None = None
    net_mass_kg: float = Field(default=0.0, allow_inf_nan=False)
    n_weighings: int = Field(default=0, ge=0, le=INT32_MAX)
    devices: list[str] = Field(default_factory=list)
    measurement: LotMeasurement = Field(
        default_factory=LiveMass, description="Lot measurement (composition, contaminants...) at close; while "
        "open, at most the live mass ({} when nothing is known)."
    )


class LotBody(_Strict):
    event: Literal["opened", "closed"]
    lot: LotSummary


class _Envelope(_Strict):
    msg_id: str = Field(pattern=_ULID)
    agent: str = Field(pattern=_NAME)
    session: str = Field(pattern=_ULID)
    seq: int = Field(ge=1, le=INT64_MAX)
    sent_at: datetime


class ReadingMessage(_Envelope):
    schema_: Literal["junkan.reading/1"] = Field(default="junkan.reading/1", alias="schema")
    body: ReadingBody


class LotMessage(_Envelope):
    schema_: Literal["junkan.lot/1"] = Field(default="junkan.lot/1", alias="schema")
    body: LotBody


class ReadingRecords(_Envelope):
    """The gateway's reading of ``junkan.reading/1``: the same message, its readings as ``ReadingRecord``."""

    schema_: Literal["junkan.reading/1"] = Field(default="junkan.reading/1", alias="schema")
    body: ReadingRecordsBody


IngestMessage = Annotated[ReadingRecords | LotMessage, Field(discriminator="schema_")]
ingest_adapter: TypeAdapter[ReadingRecords | LotMessage] = TypeAdapter(IngestMessage)


def as_records(message: ReadingMessage) -> ReadingRecords:
    """A model-built message as the gateway reads it off the wire (for in-process producers and tests)."""
    return ReadingRecords.model_validate_json(dump(message))


class DeviceHealth(_Strict):
    device: str
    driver: str
    state: Literal["alive", "stale", "error", "starting", "unavailable"]
    last_reading_at: datetime | None = None
    frames_ok: int = Field(default=0, ge=0, le=INT64_MAX)
    frames_bad: int = Field(default=0, ge=0, le=INT64_MAX)
    reconnects: int = Field(default=0, ge=0, le=INT64_MAX)
    last_error: str | None = None


class ClockStatus(_Strict):
    """The agent's wall clock as the agent sees it (a Pi without RTC boots with a wrong time)."""

    synchronised: bool | None = Field(default=None, description="NTP synchronised (kernel adjtimex); null: unknown.")
    max_error_us: int | None = Field(default=None, description="Kernel's maximum error estimate (µs).")
    steps: int = Field(default=0, ge=0, description="Wall-clock steps seen since the agent started.")
    last_step_s: float | None = Field(default=None, description="Size of the last step (s), + forward.")


class SoftwareVersions(_Strict):
    """What an agent runs (junkan.core.version), so the gateway and an operator see it per agent."""

    release: str = Field(description="junkan release (package version).")
    wire: list[str] = Field(default_factory=list, description="Wire schemas the agent speaks.")
    outbox_schema: int | None = Field(default=None, description="Agent outbox schema (PRAGMA user_version).")


class StatusMessage(_Strict):
    """Retained birth / LWT. The session id lets a consumer ignore a late Will of an old session."""

    schema_: Literal["junkan.status/1"] = Field(default="junkan.status/1", alias="schema")
    agent: str
    site: str
    line: str
    session: str
    state: Literal["online", "offline"]
    at: datetime
    devices: list[DeviceHealth] = Field(default_factory=list)
    outbox_depth: int = Field(default=0, ge=0, le=INT32_MAX)
    outbox_oldest_age_s: float = Field(default=0.0, allow_inf_nan=False)
    open_lot: LotSummary | None = None
    alarms: list[str] = Field(default_factory=list)
    clock: ClockStatus | None = None
    versions: SoftwareVersions | None = Field(default=None, description="Absent from agents before 0.2.")


class AckItem(_Strict):
    msg_id: str
    result: Literal["stored", "duplicate", "rejected"]
    reason: str | None = None


class AckMessage(_Strict):
    schema_: Literal["junkan.ack/1"] = Field(default="junkan.ack/1", alias="schema")
    acks: list[AckItem]
    resend_from_seq: int | None = Field(
        default=None, description="Set when the gateway saw a sequence gap: resend unacked from here."
    )


class CommandMessage(_Strict):
    schema_: Literal["junkan.cmd/1"] = Field(default="junkan.cmd/1", alias="schema")
    cmd_id: str
    action: Literal["open_lot", "close_lot"]
    line: str
    lot_id: str | None = Field(default=None, pattern=_ID)
    issued_at: datetime
    issued_by: str | None = None


def dump(model: BaseModel) -> bytes:
    """Serialise a message the one way every producer does (aliases on, compact JSON)."""
    return model.model_dump_json(by_alias=True, exclude_none=False).encode()
