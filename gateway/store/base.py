"""The storage interface the consumer and the API depend on; implementations live beside it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from gateway.store.db import Database
from gateway.store.rows import AgentRow, DeadLetterRow, DeviceRow, LotRow, ReadingRow
from junkan.core.messages import (
    AckItem,
    CommandMessage,
    LotMessage,
    ReadingMessage,
    ReadingRecord,
    ReadingRecords,
    StatusMessage,
    as_records,
)
from junkan.core.topics import ParsedTopic


@dataclass(frozen=True, init=False)
class Incoming:
    """A validated durable message and the topic it came on. A ``ReadingMessage`` built in-process is
    turned into the ``ReadingRecords`` the wire path yields, so the writers see one shape."""

    topic: ParsedTopic
    message: ReadingRecords | LotMessage
    payload: bytes  # as received (b"" when built in-process): what a dead letter keeps if the store refuses it
    # Read off the message once: an attribute of a pydantic model goes through BaseModel.__getattr__'s
    # slot hook (~400 instructions a look), and the hot path looked these up ~20 times per message.
    agent: str
    msg_id: str
    readings: list[ReadingRecord] | None  # None for a lot event

    def __init__(self, topic: ParsedTopic, message: ReadingRecords | ReadingMessage | LotMessage,
                 payload: bytes = b"") -> None:
        if isinstance(message, ReadingMessage):
            message = as_records(message)
        fields = self.__dict__  # what a frozen dataclass's own __init__ does, without a setattr call each
        fields["topic"], fields["message"], fields["payload"] = topic, message, payload
        fields["agent"], fields["msg_id"] = message.agent, message.msg_id
        fields["readings"] = message.body.readings if isinstance(message, ReadingRecords) else None

    @classmethod
    def received(cls, topic: ParsedTopic, message: ReadingRecords | LotMessage, payload: bytes, agent: str,
                 msg_id: str, readings: list[ReadingRecord] | None) -> Incoming:
        """What validation builds: the fields it has already read off the message passed in, not read
        again (and no ``__init__`` call through the type: the ingest hot path)."""
        self = object.__new__(cls)
        self.__dict__.update(topic=topic, message=message, payload=payload, agent=agent, msg_id=msg_id,
                             readings=readings)
        return self


@dataclass(frozen=True)
class DeadLetter:
    """A payload that failed validation (or could not be stored), kept with its raw bytes and the reason
    ``code: detail``; ``msg_id`` when the envelope named one, so its agent gets a ``rejected`` ack."""

    topic: str
    payload: bytes
    reason: str
    msg_id: str | None = None
    size: int | None = None  # of the payload as received, when ``payload`` is only its head
    sha256: str | None = None  # likewise

    @property
    def code(self) -> str:
        return self.reason.split(":", 1)[0]


class Store(Protocol):
    """What the consumer, the API and the CLI use; ``db`` is handed to every repository (traceability,
    composition, specs, auth, upload) so all SQL goes through the one database object."""

    @property
    def db(self) -> Database: ...

    def commit_batch(
        self, incoming: list[Incoming], dead: list[DeadLetter], statuses: list[StatusMessage],
        options: Any = None,
    ) -> list[AckItem]:
        """Store everything in one transaction; one ack item per incoming message (stored|duplicate, or
        rejected with its reason when the store refuses it: then it is dead-lettered in the same
        transaction). ``options``: ``sql.WriteOptions`` (dead-letter budget, retention purge)."""
        ...

    def list_lots(self, *, line: str | None = None, status: str | None = None, q: str | None = None,
                  limit: int = 100, offset: int = 0, recycler: str | None = None) -> list[LotRow]:
        """Newest first; with ``recycler`` only the lots addressed to it (tenancy)."""
        ...

    def get_lot(self, lot_id: str, recycler: str | None = None) -> LotRow | None:
        """The lot, or None; with ``recycler`` None also when the lot is not addressed to it."""
        ...

    def lot_readings(self, lot_id: str, kind: str | None = None) -> list[ReadingRow]: ...

    def list_devices(self) -> list[DeviceRow]: ...

    def session_seqs_above(self, agent: str, session: str, seq: int, limit: int = 10_000) -> list[int]: ...

    def list_agents(self) -> list[AgentRow]: ...

    def agents_for_line(self, line: str) -> list[AgentRow]: ...

    def record_command(self, command: CommandMessage, agents: list[str]) -> None: ...

    def dead_letters(self, limit: int = 100, *, before_id: int | None = None, offset: int = 0,
                     reason: str | None = None, agent: str | None = None, include_payload: bool = True
                     ) -> list[DeadLetterRow]: ...

    def dead_letter_payload(self, letter_id: int) -> tuple[str, bytes, bool] | None: ...

    def counts(self) -> dict[str, int]: ...

    def close(self) -> None: ...
