"""Payload validation at the gateway boundary: bytes + topic in, a stored message or a dead letter out.

Pure and total: whatever arrives, the result is one of the two, with the reason spelled out.
"""

from __future__ import annotations

import json

from pydantic import ValidationError

from gateway.store.base import DeadLetter, Incoming
from junkan.wire import topics
from junkan.wire.messages import LotMessage, ReadingMessage, StatusMessage, durable_adapter

_EXPECTED = {topics.Kind.READING: ReadingMessage, topics.Kind.LOT: LotMessage}
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


def validate(topic: str, payload: bytes, max_bytes: int) -> Incoming | StatusMessage | DeadLetter:
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
        message = durable_adapter.validate_python(obj)
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
