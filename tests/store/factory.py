"""Wire messages for store tests, scale-out tests and benchmarks (built the way an agent builds them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.store.base import Incoming
from junkan.core import topics
from junkan.core.ids import new_id
from junkan.core.messages import (
    LotBody,
    LotMessage,
    LotSummary,
    Reading,
    ReadingBody,
    ReadingMessage,
    StatusMessage,
)
from junkan.core.topics import AgentTopics, Kind

# Recent, so the gateway's clock window (ingest.max_past_s) never refuses these as the calendar moves.
T0 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)


def agent_topics(agent: str = "agent-1", line: str = "line-1", site: str = "site-a") -> AgentTopics:
    return AgentTopics(site, line, agent)


def readings(device_seqs: list[int] | range, lot_id: str | None = "LOT-1", device: str = "xrf-1",
             kind: str = "xrf") -> list[Reading]:
    return [Reading(device=device, device_seq=s, ts=T0 + timedelta(milliseconds=s), kind=kind, value=0.5 + s % 7,
                    unit="%", status="ok", lot_id=lot_id, data={"cu": 0.12, "fe": 95.1, "seq": s})
            for s in device_seqs]


def reading_message(seq: int, rows: list[Reading], agent: str = "agent-1", session: str | None = None
                    ) -> ReadingMessage:
    return ReadingMessage(msg_id=new_id(), agent=agent, session=session or new_id(), seq=seq, sent_at=T0,
                          body=ReadingBody(readings=rows))


FAILED_MEASUREMENT = {"method": "junkan.measurement/1", "error": "ZeroDivisionError()"}  # what a failed close sends


def lot_message(seq: int, event: str, lot_id: str = "LOT-1", net: float = 0.0, agent: str = "agent-1",
                line: str = "line-1") -> LotMessage:
    closed = event == "closed"
    lot = LotSummary(lot_id=lot_id, site="site-a", line=line, agent=agent, status="closed" if closed else "open",
                     opened_at=T0, closed_at=T0 + timedelta(minutes=5) if closed else None,
                     close_reason="operator" if closed else None, net_mass_kg=net, n_weighings=2 if closed else 0,
                     devices=["scale-1"], measurement=FAILED_MEASUREMENT if closed else {})
    return LotMessage(msg_id=new_id(), agent=agent, session=new_id(), seq=seq, sent_at=T0,
                      body=LotBody(event=event, lot=lot))  # type: ignore[arg-type]


def status(state: str = "online", session: str | None = None, at: datetime = T0, agent: str = "agent-1",
           line: str = "line-1") -> StatusMessage:
    return StatusMessage(agent=agent, site="site-a", line=line, session=session or new_id(),
                         state=state, at=at)  # type: ignore[arg-type]


def incoming(message: ReadingMessage | LotMessage, line: str = "line-1") -> Incoming:
    kind = Kind.READING if isinstance(message, ReadingMessage) else Kind.LOT
    return Incoming(topics.parse(agent_topics(message.agent, line).topic(kind)), message)
