"""Payload validation at the gateway boundary: bytes + topic in, a stored message or a dead letter out.

Pure and total: whatever arrives, the result is one of the two, with the reason spelled out. A dead
letter's reason is ``code: detail``; the code (``REASONS``) is the metrics label and the API filter.

Order, cheapest refusal first and nothing parsed before its limits are checked: topic (the sender's
identity: site/line/agent are pinned by the broker's ACL), size, nesting depth (counted on the bytes),
then pydantic in strict mode on its own JSON parser (no coercion: ``"seq":"1"``, ``"value":true``,
``"sent_at":12`` are refused; integer fields bounded to int64), then what the schema cannot say:
NaN/Infinity and integers past int64 in free-form ``data`` and in any float the models allow (looked for
in the parsed values: a byte scan for them cost more than the whole parse), zone-aware timestamps inside
the clock window, and payload identity fields equal to the topic's.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import TypeAdapter, ValidationError

from gateway.store.base import DeadLetter, Incoming
from gateway.store.sql import PARSED_UTC
from junkan.core import topics
from junkan.core.messages import (
    INT64_MAX,
    MAX_PAYLOAD_BYTES,
    LotMessage,
    ReadingRecord,
    ReadingRecords,
    StatusMessage,
    ingest_adapter,
)

_EXPECTED = {topics.Kind.READING: ReadingRecords, topics.Kind.LOT: LotMessage}
_STATUS: TypeAdapter[StatusMessage] = TypeAdapter(StatusMessage)
MAX_DEPTH = 32
KEEP_BYTES = 1024  # what is kept of a payload past a limit (too large, over the agent's dead-letter budget)
REASONS = ("bad_topic", "too_large", "too_deep", "not_json", "non_finite", "int_range", "schema",
           "identity_mismatch", "clock_window", "redelivered", "store_error", "ack_error")

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_INF = (float("inf"), float("-inf"))
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")
_MSG_ID = re.compile(rb'"msg_id"\s*:\s*"([0-9A-HJKMNP-TV-Z]{26})"')
_INGEST = ingest_adapter.validator  # the core validator: TypeAdapter.validate_json only forwards to it


@dataclass(frozen=True)
class IngestPolicy:
    """The limits validation applies (from the gateway settings)."""

    max_bytes: int = MAX_PAYLOAD_BYTES
    max_past_s: float = 366 * 86_400.0  # an outbox backlog older than this is a wrong clock, not a backlog
    max_future_s: float = 300.0  # clock skew tolerated ahead of the gateway's clock
    now: Callable[[], float] = time.time


DEFAULT_POLICY = IngestPolicy()


def dead(topic: str, payload: bytes, code: str, detail: str, msg_id: str | None = None) -> DeadLetter:
    return DeadLetter(topic[:512], payload, f"{code}: {detail}", msg_id=msg_id)


def _head(topic: str, payload: bytes, code: str, detail: str, msg_id: str | None = None) -> DeadLetter:
    """A dead letter keeping only the payload's first KB, with the size and sha256 of the whole."""
    return DeadLetter(topic[:512], payload[:KEEP_BYTES], f"{code}: {detail}", msg_id=msg_id, size=len(payload),
                      sha256=hashlib.sha256(payload).hexdigest())


def _nesting_exceeds(payload: bytes, limit: int) -> bool:
    """Depth of ``[``/``{`` nesting > limit, from the bytes (strings skipped), before any parser runs.
    Each pass drops the innermost empty pairs (at least one level); a pass that changes nothing means
    unbalanced text, which the parser then names. Counting first keeps ordinary messages at two
    ``bytes.count`` calls (a ``translate`` pass instead measured more instructions)."""
    if payload.count(b"[") + payload.count(b"{") <= limit:
        return False
    brackets = _NOT_BRACKET.sub(b"", _STRING.sub(b"", payload))
    for _ in range(limit):
        if not brackets:
            return False
        shorter = brackets.replace(b"{}", b"").replace(b"[]", b"")
        if shorter == brackets:
            return False
        brackets = shorter
    return bool(brackets)


def _number_problem(value: object, depth: int = 0) -> tuple[str, str] | None:
    """NaN/Infinity or an integer outside int64 anywhere in parsed JSON (``data``, a measurement)."""
    stack = [value]
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is float:
            if node != node or node in _INF:  # type: ignore[comparison-overlap]
                return "non_finite", f"{node!r} is not a finite number"
        elif kind is int:
            if not -INT64_MAX - 1 <= node <= INT64_MAX:  # type: ignore[operator]
                text = str(node)
                return "int_range", f"integer {text[:40]}{'...' if len(text) > 40 else ''} is outside int64"
        elif kind is dict:
            stack += node.values()  # type: ignore[attr-defined]
        elif kind is list:
            stack += node  # type: ignore[arg-type]
    return None


def short_errors(exc: ValidationError, limit: int = 5) -> str:
    parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:limit]]
    more = len(exc.errors()) - limit
    return "; ".join(parts) + (f"; (+{more} more)" if more > 0 else "")


def _schema_error(topic: str, payload: bytes, exc: ValidationError, msg_id: str | None) -> DeadLetter:
    errors = exc.errors()
    if errors and errors[0]["type"] == "json_invalid":
        return dead(topic, payload, "not_json", str(errors[0]["msg"]), msg_id)
    for error in errors:  # the classes the stores cannot hold get their own code
        if error["type"] == "finite_number":
            return dead(topic, payload, "non_finite", short_errors(exc), msg_id)
        value = error.get("input")
        if type(value) is int and not -INT64_MAX - 1 <= value <= INT64_MAX:
            return dead(topic, payload, "int_range", short_errors(exc), msg_id)
    return dead(topic, payload, "schema", short_errors(exc), msg_id)


def _too_deep(free: list[dict[str, object]], limit: int) -> bool:
    """True when a free-form dict nests deeper than ``limit``. A dict of scalars (the usual reading
    data) has depth 1 and is settled by one look at its values; only nested ones are walked."""
    for d in free:
        for value in d.values():
            if isinstance(value, (dict, list)):
                if _depth(d, limit) > limit:
                    return True
                break
    return False


def _depth(obj: object, limit: int = MAX_DEPTH) -> int:
    """Nesting depth of parsed JSON, iteratively, stopping early past ``limit``."""
    stack, deepest = [(obj, 1)], 0
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        if isinstance(node, dict):
            stack += [(v, depth + 1) for v in node.values()]
        elif isinstance(node, list):
            stack += [(v, depth + 1) for v in node]
    return deepest


class _Window:
    """The accepted time range around the gateway's clock, as aware datetimes (one comparison each)."""

    def __init__(self, policy: IngestPolicy, now: float) -> None:
        # Bounds built with pydantic's one UTC tzinfo object compare without a utcoffset() call per reading
        # (measured 0.5 -> 0.03 us a comparison).
        self.lo = datetime.fromtimestamp(now - policy.max_past_s, UTC).replace(tzinfo=PARSED_UTC)
        self.hi = datetime.fromtimestamp(now + policy.max_future_s, UTC).replace(tzinfo=PARSED_UTC)

    def problem(self, what: str, ts: datetime | None) -> tuple[str, str] | None:
        if ts is None:
            return None
        if ts.tzinfo is None:
            return "schema", f"{what}: timestamp {ts.isoformat()} has no time zone"
        if not self.lo <= ts <= self.hi:
            return "clock_window", (f"{what} {ts.isoformat()} is outside the gateway's window "
                                    f"[{self.lo.isoformat()}, {self.hi.isoformat()}]")
        return None


_WINDOW: list[tuple[IngestPolicy, int, _Window]] = []  # one entry: the window of this policy and second


def _window(policy: IngestPolicy) -> _Window:
    """Bounds rebuilt once a second, not per message (a little of the hot path)."""
    now = policy.now()
    if _WINDOW and _WINDOW[0][0] is policy and _WINDOW[0][1] == int(now):
        return _WINDOW[0][2]
    window = _Window(policy, now)
    _WINDOW[:] = [(policy, int(now), window)]
    return window


def _reading_problem(sent_at: datetime, readings: list[ReadingRecord], window: _Window) -> tuple[str, str] | None:
    """The checks per reading in one loop (the hot path): timestamp in the window, and the free-form
    data flat and finite, which settles the usual data (a dict of scalars) in one look at each value."""
    lo, hi = window.lo, window.hi
    if sent_at.tzinfo is None or not lo <= sent_at <= hi:
        return window.problem("sent_at", sent_at)
    nested = []
    for i, r in enumerate(readings):
        ts = r["ts"]
        if ts.tzinfo is None or not lo <= ts <= hi:  # one comparison chain per reading
            return window.problem(f"body.readings.{i}.ts", ts)
        data = r.get("data")
        if data:
            for value in data.values():
                kind = type(value)
                if kind is float:
                    if value - value != 0.0:  # NaN or +-Infinity (a finite x - x is 0.0)
                        return "non_finite", f"body.readings.{i}.data: {value!r} is not a finite number"
                elif kind is int:
                    if not -INT64_MAX - 1 <= value <= INT64_MAX:
                        return _number_problem(value)
                elif kind is dict or kind is list:
                    nested.append(data)
                    break
    if nested:
        if _too_deep(nested, MAX_DEPTH - 4):  # readings[i].data sits 4 levels down
            return "too_deep", f"JSON nested deeper than {MAX_DEPTH}"
        return _number_problem(nested)
    return None


def _lot_problem(message: LotMessage, parsed: topics.ParsedTopic, window: _Window) -> tuple[str, str] | None:
    lot = message.body.lot
    for what, value, expected in (("lot.site", lot.site, parsed.site), ("lot.line", lot.line, parsed.line),
                                  ("lot.agent", lot.agent, parsed.agent)):
        if value != expected:
            return "identity_mismatch", f"{what} {value[:80]!r} is not the topic's {expected!r}"
    for what, ts in (("sent_at", message.sent_at), ("lot.opened_at", lot.opened_at),
                     ("lot.closed_at", lot.closed_at)):
        found = window.problem(what, ts)
        if found:
            return found
    # The measurement is typed (its schema bounds its depth) but its floats may be NaN; lot events are rare.
    return _number_problem(lot.measurement.model_dump(mode="python"))


def _status_problem(status: StatusMessage, parsed: topics.ParsedTopic, window: _Window) -> tuple[str, str] | None:
    for what, value, expected in (("agent", status.agent, parsed.agent), ("site", status.site, parsed.site),
                                  ("line", status.line, parsed.line)):
        if value != expected:
            return "identity_mismatch", f"status {what} {value[:80]!r} is not the topic's {expected!r}"
    if status.at.tzinfo is None:
        return "schema", "at: timestamp has no time zone"
    if status.at > window.hi:  # a stale retained status is normal after a long outage; the future is not
        return "clock_window", f"at {status.at.isoformat()} is ahead of the gateway's clock"
    for i, dev in enumerate(status.devices):
        if dev.last_reading_at is not None and dev.last_reading_at.tzinfo is None:
            return "schema", f"devices.{i}.last_reading_at has no time zone"
    return _number_problem(status.open_lot.model_dump(mode="python")) if status.open_lot else None


def _msg_id(payload: bytes, expected: object) -> str | None:
    """The envelope's msg_id found in the bytes, to ack a refused durable message as rejected (only looked
    for on the way to a dead letter: an accepted message has it parsed)."""
    found = _MSG_ID.search(payload[:4096]) if expected is not None else None
    return found.group(1).decode() if found else None


def validate(topic: str, payload: bytes, policy: IngestPolicy | int = DEFAULT_POLICY
             ) -> Incoming | StatusMessage | DeadLetter:
    """``policy`` may be a plain byte limit (tests, tools)."""
    if isinstance(policy, int):
        policy = IngestPolicy(max_bytes=policy)
    try:
        parsed = topics.parse(topic)
    except ValueError as exc:
        return (_head if len(payload) > policy.max_bytes else dead)(topic, payload, "bad_topic", str(exc))
    expected = _EXPECTED.get(parsed.kind)
    if len(payload) > policy.max_bytes:
        return _head(topic, payload, "too_large", f"{len(payload)} bytes > {policy.max_bytes}",
                     _msg_id(payload, expected))
    if expected is None and parsed.kind is not topics.Kind.STATUS:
        return dead(topic, payload, "schema", f"gateway does not consume kind {parsed.kind.value!r}")
    if _nesting_exceeds(payload, MAX_DEPTH):
        return dead(topic, payload, "too_deep", f"JSON nested deeper than {MAX_DEPTH}", _msg_id(payload, expected))
    window = _window(policy)
    if expected is None:
        try:
            status = _STATUS.validate_json(payload, strict=True)
        except ValidationError as exc:
            return _schema_error(topic, payload, exc, None)
        found = _status_problem(status, parsed, window)
        return dead(topic, payload, *found) if found else status
    try:
        message = _INGEST.validate_json(payload, strict=True)
    except ValidationError as exc:
        return _schema_error(topic, payload, exc, _msg_id(payload, expected))
    if not isinstance(message, expected):
        return dead(topic, payload, "schema", f"schema {message.schema_!r} not allowed on {parsed.kind.value} topic",
                    message.msg_id)
    # The fields read from the model's __dict__: each attribute of a pydantic model goes through
    # BaseModel.__getattr__'s slot hook (~400 instructions a look; this is the hot path).
    fields = message.__dict__
    agent, msg_id = fields["agent"], fields["msg_id"]
    if agent != parsed.agent:
        return dead(topic, payload, "identity_mismatch",
                    f"agent {agent!r} does not match topic agent {parsed.agent!r}", msg_id)
    readings: list[ReadingRecord] | None = None
    if isinstance(message, ReadingRecords):
        readings = records = fields["body"].__dict__["readings"]
        found = _reading_problem(fields["sent_at"], records, window)
    else:
        found = _lot_problem(message, parsed, window)
    if found:
        return dead(topic, payload, *found, msg_id=msg_id)
    return Incoming.received(parsed, message, payload, agent, msg_id, readings)


def ack_target(topic: str, letter: DeadLetter) -> str | None:
    """The ack topic of a dead-lettered durable message, so its agent stops resending it (None: no
    message id, or a topic the gateway cannot answer on)."""
    if letter.msg_id is None:
        return None
    try:
        parsed = topics.parse(topic)
    except ValueError:
        return None
    if parsed.kind not in topics.DURABLE_KINDS:
        return None
    return topics.AgentTopics(parsed.site, parsed.line, parsed.agent).topic(topics.Kind.ACK)
