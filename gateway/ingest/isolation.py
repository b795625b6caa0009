"""One message cannot stop ingest: a commit that fails is split until the message that fails it is found.

Two kinds of failure look alike from the outside and need opposite answers:
- the database is unavailable (locked, disk full, connection lost): every message fails, none is at
  fault, so the batch is held (no ack, no PUBACK) and retried until it commits;
- one message is poison (an insert that raises for it alone): the batch is bisected, the message is
  dead-lettered with the error as its reason and acked ``rejected``, and the rest is stored.
An error of the first kind met while bisecting stops the bisection: what is left is held. A poison
message whose dead letter cannot be written either is held too (then it is the database).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gateway.ingest.validate import KEEP_BYTES
from gateway.store.base import DeadLetter, Incoming, Store
from gateway.store.sql import WriteOptions
from junkan.core import topics
from junkan.core.messages import AckItem, StatusMessage, dump

log = logging.getLogger("junkan.gateway.isolation")

try:  # PostgreSQL is optional
    import psycopg
    from psycopg_pool import PoolTimeout

    _PG_TRANSIENT: tuple[type[BaseException], ...] = (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout)
except ImportError:  # pragma: no cover
    _PG_TRANSIENT = ()


def is_transient(exc: BaseException) -> bool:
    """The database (not a message) failed: locked, full, I/O error, connection or pool gone."""
    return isinstance(exc, (sqlite3.OperationalError, OSError, TimeoutError, *_PG_TRANSIENT))


@dataclass
class Item:
    """One thing to write: an incoming message (``index`` into the batch's list), a dead letter or a status."""

    kind: str  # "in" | "dead" | "status"
    index: int
    value: Any


@dataclass
class Outcome:
    acks: dict[int, AckItem]  # per incoming index
    dead_codes: list[str]  # reason code of every dead letter written
    held: list[Item]  # not written: the database was unavailable


class Committer:
    def __init__(self, store: Store, options: Callable[[], WriteOptions],
                 on_failure: Callable[[BaseException], None]) -> None:
        self.store, self.options, self.on_failure = store, options, on_failure

    def commit(self, items: list[Item]) -> Outcome:
        outcome = Outcome({}, [], [])
        try:
            self._write(items, outcome)
        except Exception as exc:
            self.on_failure(exc)
            if is_transient(exc):
                outcome.held = items
                return outcome
            log.warning("batch of %d failed (%s: %s); bisecting to find the message", len(items),
                        type(exc).__name__, str(exc)[:200])
            if len(items) == 1:
                self._poison(items[0], exc, outcome)
            else:
                mid = len(items) // 2
                self._bisect(items[:mid], outcome)
                self._bisect(items[mid:], outcome)
        return outcome

    def _bisect(self, items: list[Item], outcome: Outcome) -> None:
        if outcome.held:  # the database went away meanwhile: do not try the rest, hold it
            outcome.held += items
            return
        try:
            self._write(items, outcome)
            return
        except Exception as exc:
            self.on_failure(exc)
            if is_transient(exc):
                outcome.held += items
                return
            if len(items) == 1:
                self._poison(items[0], exc, outcome)
                return
        mid = len(items) // 2
        self._bisect(items[:mid], outcome)
        self._bisect(items[mid:], outcome)

    def _write(self, items: list[Item], outcome: Outcome) -> None:
        incoming = [i for i in items if i.kind == "in"]
        dead = [i.value for i in items if i.kind == "dead"]
        statuses = [i.value for i in items if i.kind == "status"]
        acks = self.store.commit_batch([i.value for i in incoming], dead, statuses, self.options())
        for item, ack in zip(incoming, acks, strict=True):
            outcome.acks[item.index] = ack
            if ack.result == "rejected":
                outcome.dead_codes.append((ack.reason or "store_error").split(":", 1)[0])
        outcome.dead_codes += [letter.code for letter in dead]

    def _poison(self, item: Item, exc: BaseException, outcome: Outcome) -> None:
        reason = f"store_error: {type(exc).__name__}: {str(exc)[:300]}"
        log.warning("dead-lettering one message the store refuses: %s", reason)
        letter, ack = _as_dead_letter(item, reason)
        try:
            self.store.commit_batch([], [letter], [], self.options())
        except Exception as again:  # not even its dead letter can be written: that is the database
            self.on_failure(again)
            outcome.held.append(item)
            return
        outcome.dead_codes.append("store_error")
        if ack is not None:
            outcome.acks[item.index] = ack


def _as_dead_letter(item: Item, reason: str) -> tuple[DeadLetter, AckItem | None]:
    if item.kind == "in":
        inc: Incoming = item.value
        t = inc.topic
        topic = topics.AgentTopics(t.site, t.line, t.agent).topic(t.kind)
        letter = DeadLetter(topic, inc.payload or dump(inc.message), reason, msg_id=inc.message.msg_id)
        return letter, AckItem(msg_id=inc.message.msg_id, result="rejected", reason=reason[:500])
    if item.kind == "status":
        status: StatusMessage = item.value
        topic = topics.AgentTopics(status.site, status.line, status.agent).topic(topics.Kind.STATUS)
        return DeadLetter(topic, dump(status), reason), None
    letter = item.value  # a dead letter that cannot be written as it is: keep its head and the new reason
    return DeadLetter(letter.topic[:512], letter.payload[:KEEP_BYTES], f"{reason} (was {letter.reason[:200]})",
                      msg_id=letter.msg_id, size=letter.size or len(letter.payload), sha256=letter.sha256), None
