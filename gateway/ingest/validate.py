"""Payload validation at the gateway boundary: bytes + topic in, a stored message or a dead letter out.

Pure and total: whatever arrives, the result is one of the two, with the reason spelled out.
"""

from __future__ import annotations

import json

from pydantic import ValidationError

from gateway.store.base import DeadLetter, Incoming
from junkan.core import topics
from junkan.core.messages import LotMessage, ReadingRecords, StatusMessage, ingest_adapter

_EXPECTED = {topics.Kind.READING: ReadingRecords, topics.Kind.LOT: LotMessage}
MAX_DEPTH = 32


def _depth(obj: object, limit: int = MAX_DEPTH) -> int:
    """Nesting depth, stopping early past ``limit`` (hostile deep payloads)."""
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


def short_errors(exc: ValidationError, limit: int = 5) -> str:
    parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:limit]]
    more = len(exc.errors()) - limit
    return "; ".join(parts) + (f"; (+{more} more)" if more > 0 else "")


def _fast_durable(topic: str, payload: bytes, max_bytes: int) -> Incoming | None:
    """The common case in one pass: pydantic's own JSON parser, no intermediate dicts, depth checked
    only where the schema allows free-form nesting. None hands the payload to the full path below,
    which accepts exactly the same messages and names what is wrong with the others."""
    if len(payload) > max_bytes:
        return None
    try:
        parsed = topics.parse(topic)
    except ValueError:
        return None
    expected = _EXPECTED.get(parsed.kind)
    if expected is None:
        return None
    try:
        message = ingest_adapter.validate_json(payload)
    except ValidationError:
        return None
    if not isinstance(message, expected) or message.agent != parsed.agent:
        return None
    # readings[i].data sits 4 levels down: the free part may use what is left (a lot's measurement is typed,
    # its schema bounds its depth).
    free = [r["data"] for r in message.body.readings if "data" in r] if isinstance(message, ReadingRecords) else []
    if _too_deep(free, MAX_DEPTH - 4):
        return None
    return Incoming(parsed, message)


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


def validate(topic: str, payload: bytes, max_bytes: int) -> Incoming | StatusMessage | DeadLetter:
    fast = _fast_durable(topic, payload, max_bytes)
    if fast is not None:
        return fast
    try:
        parsed = topics.parse(topic)
    except ValueError as exc:
        return DeadLetter(topic, payload, f"bad topic: {exc}")
    if len(payload) > max_bytes:
        return DeadLetter(topic, payload[:max_bytes], f"payload too large: {len(payload)} bytes > {max_bytes}")
    try:
        obj = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        return DeadLetter(topic, payload, f"not JSON: {exc}")
    if _depth(obj) > MAX_DEPTH:
        return DeadLetter(topic, payload, f"JSON nested deeper than {MAX_DEPTH}")
    if not isinstance(obj, dict):
        return DeadLetter(topic, payload, f"not a JSON object but {type(obj).__name__}")
    try:
        if parsed.kind is topics.Kind.STATUS:
            status = StatusMessage.model_validate(obj)
            if status.agent != parsed.agent:
                return DeadLetter(topic, payload, f"agent {status.agent!r} does not match topic agent {parsed.agent!r}")
            return status
        expected = _EXPECTED.get(parsed.kind)
        if expected is None:
            return DeadLetter(topic, payload, f"gateway does not consume kind {parsed.kind.value!r}")
        message = ingest_adapter.validate_python(obj)
    except ValidationError as exc:
        return DeadLetter(topic, payload, f"schema: {short_errors(exc)}")
    if not isinstance(message, expected):
        return DeadLetter(topic, payload, f"schema {obj.get('schema')!r} not allowed on {parsed.kind.value} topic")
    if message.agent != parsed.agent:
        return DeadLetter(topic, payload, f"agent {message.agent!r} does not match topic agent {parsed.agent!r}")
    return Incoming(parsed, message)


def ack_target(topic: str, payload: bytes) -> tuple[str, str] | None:
    """For a dead-lettered durable message: (ack topic, msg_id) so the agent stops resending it."""
    try:
        parsed = topics.parse(topic)
        msg_id = json.loads(payload).get("msg_id")
    except (ValueError, AttributeError, UnicodeDecodeError):
        return None
    if parsed.kind not in topics.DURABLE_KINDS or not isinstance(msg_id, str) or len(msg_id) > 64:
        return None
    return topics.AgentTopics(parsed.site, parsed.line, parsed.agent).topic(topics.Kind.ACK), msg_id
