"""Sequence-gap detection per agent session, from what the store holds (so it is right with N workers).

Each agent numbers its durable messages; a number missing while later ones are stored means a message
was lost between the agent and the store (e.g. a broker crash after PUBACK). The agent resends unacked
messages after its ack timeout anyway; this asks for it sooner, and makes a gap visible when it does not
close (the agent no longer holds the message: reported, never silently skipped).
"""

from __future__ import annotations

from dataclasses import dataclass, field


def advance(watermark: int, stored_above: list[int]) -> tuple[int, int | None]:
    """Move the watermark over the contiguous run; return it and the first missing seq (None: no gap)."""
    for seq in stored_above:
        if seq == watermark + 1:
            watermark = seq
        elif seq > watermark + 1:
            return watermark, watermark + 1
    return watermark, None


@dataclass
class GapState:
    watermark: int
    missing: int | None = None
    since: float = 0.0
    requests: int = 0


@dataclass
class GapTracker:
    """Pure bookkeeping; the consumer feeds it store reads and the clock, and sends what it returns."""

    request_after_s: float = 5.0
    give_up_after: int = 5
    sessions: dict[tuple[str, str], GapState] = field(default_factory=dict)
    abandoned: list[tuple[str, str, int]] = field(default_factory=list)  # (agent, session, seq) never closed

    def update(self, agent: str, session: str, stored_above: list[int], now: float) -> int | None:
        """Returns a seq to request a resend from, or None."""
        key = (agent, session)
        state = self.sessions.get(key)
        if state is None:
            if not stored_above:
                return None
            state = self.sessions[key] = GapState(watermark=stored_above[0] - 1)
        watermark, missing = advance(state.watermark, stored_above)
        state.watermark = watermark
        if missing is None:
            state.missing = None
            return None
        if missing != state.missing:
            state.missing, state.since, state.requests = missing, now, 0
            return None
        if now - state.since < self.request_after_s * (state.requests + 1):
            return None
        if state.requests >= self.give_up_after:
            self.abandoned.append((agent, session, missing))
            state.watermark, state.missing = missing, None  # reported; look past it
            return None
        state.requests += 1
        return missing

    def watermark(self, agent: str, session: str) -> int:
        state = self.sessions.get((agent, session))
        return state.watermark if state else 0
