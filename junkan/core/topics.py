"""Every MQTT topic junkan uses is built and parsed here, and nowhere else.

Layout: ``junkan/v1/{site}/{line}/{agent}/{kind}``. The version sits in the prefix so a v2 can run
beside v1 on one broker during a migration.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import StrEnum

from junkan.core.names import NAME_RE

PREFIX = "junkan/v1"
SHARE_GROUP = "junkan-gateway"
_SEGMENT = NAME_RE


class Kind(StrEnum):
    """What a topic carries."""

    READING = "reading"  # agent -> gateway, durable (outbox), acked
    LOT = "lot"  # agent -> gateway, durable (outbox), acked
    STATUS = "status"  # agent -> all, retained birth/LWT
    ACK = "ack"  # gateway -> agent, application-level ack after commit
    CMD = "cmd"  # gateway -> agent, operator commands (open/close lot ...)


DURABLE_KINDS = (Kind.READING, Kind.LOT)


def check_segment(value: str, what: str) -> str:
    """Reject names that would break topic structure (``/``, ``+``, ``#``, empty) with a clear message."""
    if not _SEGMENT.match(value):
        raise ValueError(
            f"{what} {value!r} is not a valid topic segment: use 1-64 letters, digits, '_', '.', '-'"
        )
    return value


@dataclass(frozen=True)
class AgentTopics:
    """The topics of one agent."""

    site: str
    line: str
    agent: str

    def __post_init__(self) -> None:
        check_segment(self.site, "site")
        check_segment(self.line, "line")
        check_segment(self.agent, "agent")

    def topic(self, kind: Kind) -> str:
        return f"{PREFIX}/{self.site}/{self.line}/{self.agent}/{kind.value}"


@dataclass(frozen=True)
class ParsedTopic:
    site: str
    line: str
    agent: str
    kind: Kind


@functools.lru_cache(maxsize=4096)
def parse(topic: str) -> ParsedTopic:
    """Split a junkan topic; raises ValueError naming what is wrong. Cached: a gateway sees the same few
    topics per agent over and over (errors are not cached, so hostile topics cannot fill the cache).
    Every segment must be a valid name: a topic the gateway parses is one it can answer on (ack topic)."""
    parts = topic.split("/")
    if len(parts) != 6 or "/".join(parts[:2]) != PREFIX:
        raise ValueError(f"topic {topic[:200]!r} is not of the form {PREFIX}/site/line/agent/kind")
    for what, value in zip(("site", "line", "agent"), parts[2:5], strict=True):
        if not _SEGMENT.match(value):
            raise ValueError(f"topic {what} {value[:80]!r} is not a valid topic segment (1-64 letters, digits, "
                             "'_', '.', '-')")
    try:
        kind = Kind(parts[5])
    except ValueError:
        raise ValueError(f"topic {topic!r} has unknown kind {parts[5]!r}") from None
    return ParsedTopic(parts[2], parts[3], parts[4], kind)


def gateway_subscriptions(share_group: str = SHARE_GROUP) -> list[str]:
    """Durable kinds are split among gateway workers; status is seen by every worker (retained)."""
    shared = [f"$share/{share_group}/{PREFIX}/+/+/+/{k.value}" for k in DURABLE_KINDS]
    return [*shared, f"{PREFIX}/+/+/+/{Kind.STATUS.value}"]
