"""Builders for wire messages used across gateway tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from junkan.core.ids import new_id
from junkan.core.messages import (
    LotBody,
    LotMessage,
    LotSummary,
    Reading,
    ReadingBody,
    ReadingMessage,
    StatusMessage,
    dump,
)
from junkan.core.topics import AgentTopics, Kind

# Recent, so the gateway's clock window (ingest.max_past_s) never refuses these as the calendar moves.
T0 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
TOPICS = AgentTopics("site-a", "line-1", "agent-1")
SESSION = new_id()


def reading_message(seq: int, device_seqs: list[int], lot_id: str | None = "LOT-1",
                    agent: str = "agent-1") -> ReadingMessage:
    readings = [Reading(device="scale-1", device_seq=s, ts=T0 + timedelta(seconds=s), kind="weighing",
                        value=100.0 + s, unit="kg", status="ok", lot_id=lot_id, data={"tare_kg": 30.0})
                for s in device_seqs]
    return ReadingMessage(msg_id=new_id(), agent=agent, session=SESSION, seq=seq, sent_at=T0,
                          body=ReadingBody(readings=readings))


def lot_message(seq: int, event: str, lot_id: str = "LOT-1", net: float = 0.0) -> LotMessage:
    closed = event == "closed"
    lot = LotSummary(lot_id=lot_id, site="site-a", line="line-1", agent="agent-1",
                     status="closed" if closed else "open", opened_at=T0,
                     closed_at=T0 + timedelta(minutes=5) if closed else None,
                     close_reason="operator" if closed else None, net_mass_kg=net, n_weighings=2 if closed else 0)
    return LotMessage(msg_id=new_id(), agent="agent-1", session=SESSION, seq=seq, sent_at=T0,
                      body=LotBody(event=event, lot=lot))  # type: ignore[arg-type]


def status(state: str = "online", session: str = SESSION, at: datetime = T0) -> StatusMessage:
    return StatusMessage(agent="agent-1", site="site-a", line="line-1", session=session, state=state,  # type: ignore[arg-type]
                         at=at)


def topic(kind: Kind) -> str:
    return TOPICS.topic(kind)


__all__ = ["T0", "dump", "lot_message", "reading_message", "status", "topic"]
