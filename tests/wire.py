"""Wire messages built the way an agent builds them: the one factory of the gateway-side tests (ingest, store,
security, dashboard seed, benchmarks), so a message's shape is written once for all of them.

Defaults are one agent (site-a/line-1/agent-1) in one session; every builder takes the few fields a test
varies. ``T0`` is recent, so the gateway's clock window (``ingest.max_past_s``) never refuses these messages
as the calendar moves.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.store.base import Incoming
from junkan.core import messages as m
from junkan.core import topics
from junkan.core.ids import new_id
from junkan.core.messages import dump
from junkan.core.topics import AgentTopics, Kind

T0 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
TOPICS = AgentTopics("site-a", "line-1", "agent-1")
SESSION = new_id()
FAILED_MEASUREMENT = {"method": "junkan.measurement/1", "error": "ZeroDivisionError()"}  # what a failed close sends


def agent_topics(agent: str = "agent-1", line: str = "line-1", site: str = "site-a") -> AgentTopics:
    return AgentTopics(site, line, agent)


def topic(kind: Kind) -> str:
    return TOPICS.topic(kind)


def weighings(device_seqs: Iterable[int], lot_id: str | None = "LOT-1") -> list[m.Reading]:
    """Weighings of scale-1, one a second from T0: net 100 + seq kg on a 30 kg tare."""
    return [m.Reading(device="scale-1", device_seq=s, ts=T0 + timedelta(seconds=s), kind="weighing",
                      value=100.0 + s, unit="kg", status="ok", lot_id=lot_id, data={"tare_kg": 30.0})
            for s in device_seqs]


def xrf_readings(device_seqs: Iterable[int], lot_id: str | None = "LOT-1", device: str = "xrf-1",
                 kind: str = "xrf") -> list[m.Reading]:
    """XRF results one a millisecond from T0, with data that tells them apart (``seq``)."""
    return [m.Reading(device=device, device_seq=s, ts=T0 + timedelta(milliseconds=s), kind=kind,
                      value=0.5 + s % 7, unit="%", status="ok", lot_id=lot_id, data={"cu": 0.12, "fe": 95.1, "seq": s})
            for s in device_seqs]


def reading_message(seq: int, readings: list[m.Reading], agent: str = "agent-1", session: str = SESSION,
                    sent_at: datetime = T0) -> m.ReadingMessage:
    return m.ReadingMessage(msg_id=new_id(), agent=agent, session=session, seq=seq, sent_at=sent_at,
                            body=m.ReadingBody(readings=readings))


def lot_summary(lot_id: str = "LOT-1", closed: bool = False, net: float = 0.0, opened: datetime = T0,
                agent: str = "agent-1", line: str = "line-1", devices: list[str] | None = None,
                measurement: dict[str, Any] | None = None) -> m.LotSummary:
    """A lot as its agent reports it: closed by the operator five minutes after ``opened`` with two weighings;
    ``measurement`` goes with the close (an open lot reports no live mass)."""
    return m.LotSummary(lot_id=lot_id, site="site-a", line=line, agent=agent, status="closed" if closed else "open",
                        opened_at=opened, closed_at=opened + timedelta(minutes=5) if closed else None,
                        close_reason="operator" if closed else None, net_mass_kg=net, n_weighings=2 if closed else 0,
                        devices=devices or [], measurement=(measurement or {}) if closed else {})  # type: ignore[arg-type]


def lot_message(seq: int, event: str, lot_id: str = "LOT-1", net: float = 0.0, agent: str = "agent-1",
                line: str = "line-1", session: str = SESSION, opened: datetime = T0, devices: list[str] | None = None,
                measurement: dict[str, Any] | None = None) -> m.LotMessage:
    """The ``opened`` or ``closed`` event of a lot (``lot_summary``), sent when it happens."""
    lot = lot_summary(lot_id, event == "closed", net, opened, agent, line, devices, measurement)
    return m.LotMessage(msg_id=new_id(), agent=agent, session=session, seq=seq, sent_at=opened,
                        body=m.LotBody(event=event, lot=lot))  # type: ignore[arg-type]


def status(state: str = "online", session: str = SESSION, at: datetime = T0, agent: str = "agent-1",
           line: str = "line-1") -> m.StatusMessage:
    return m.StatusMessage(agent=agent, site="site-a", line=line, session=session, state=state,  # type: ignore[arg-type]
                           at=at)


def incoming(message: m.ReadingMessage | m.LotMessage, line: str = "line-1") -> Incoming:
    """The message as the consumer hands it to the store (topic parsed, not re-validated)."""
    kind = Kind.READING if isinstance(message, m.ReadingMessage) else Kind.LOT
    return Incoming(topics.parse(agent_topics(message.agent, line).topic(kind)), message)


__all__ = ["FAILED_MEASUREMENT", "SESSION", "T0", "TOPICS", "agent_topics", "dump", "incoming", "lot_message",
           "lot_summary", "reading_message", "status", "topic", "weighings", "xrf_readings"]
