"""A stream of hostile MQTT messages, each labelled with the dead-letter reason code the gateway must give
it, with honest messages interleaved (label ``None``: must be stored, every one).

Every class issue 16 found is here: integers past int64, nesting past the parser's limit, topic segments
that are no name, payload identities that disagree with the topic (envelope, lot, status line, another
agent's lot), coercible types (``"seq":"1"``, ``"value":true``, ``"sent_at":12``), zone-less and
out-of-window timestamps, NaN/Infinity (also inside ``data``), oversize, non-JSON, wrong schemas.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from junkan.core.ids import new_id
from junkan.core.messages import LotBody, LotMessage, LotSummary, Reading, ReadingBody, ReadingMessage, dump
from junkan.core.topics import AgentTopics, Kind

A1 = AgentTopics("site-a", "line-1", "agent-1")
A2 = AgentTopics("site-a", "line-2", "agent-2")
OWN_LOT = "LOT-A1-OWN"  # agent-1's lot: agent-2 naming it is a forgery
MAX_BYTES = 65_536
FAILED_MEASUREMENT = {"method": "junkan.measurement/1", "error": "ZeroDivisionError()"}  # a valid closed lot's


@dataclass(frozen=True)
class Case:
    topic: str
    payload: bytes
    expected: str | None  # reason code, or None: a valid message that must be stored
    msg_id: str | None = None


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def honest_reading(seq: int, agent: AgentTopics = A1, session: str = "", lot: str | None = OWN_LOT) -> ReadingMessage:
    ts = now() - timedelta(minutes=5)
    rows = [Reading(device="scale-1", device_seq=seq, ts=ts, kind="weighing", value=100.0 + seq, unit="kg",
                    status="ok", lot_id=lot, data={"tare_kg": 30.0, "n": seq})]
    return ReadingMessage(msg_id=new_id(), agent=agent.agent, session=session or new_id(), seq=seq,
                          sent_at=now(), body=ReadingBody(readings=rows))


def honest_lot(seq: int, event: str, lot_id: str = OWN_LOT, agent: AgentTopics = A1, net: float = 400.0,
               session: str = "") -> LotMessage:
    closed = event == "closed"
    summary = LotSummary(lot_id=lot_id, site=agent.site, line=agent.line, agent=agent.agent,
                         status="closed" if closed else "open", opened_at=now() - timedelta(minutes=30),
                         closed_at=now() if closed else None, close_reason="operator" if closed else None,
                         net_mass_kg=net if closed else 0.0, n_weighings=4 if closed else 0,
                         measurement=FAILED_MEASUREMENT if closed else {})
    return LotMessage(msg_id=new_id(), agent=agent.agent, session=session or new_id(), seq=seq, sent_at=now(),
                      body=LotBody(event=event, lot=summary))  # type: ignore[arg-type]


def _edit(message: ReadingMessage | LotMessage, change: Callable[[dict[str, Any]], None]) -> bytes:
    obj = json.loads(dump(message))
    change(obj)
    return json.dumps(obj).encode()


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(obj: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = obj
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        node[int(last) if last.isdigit() else last] = value
    return change


def _hostile(rng: random.Random, seq: int) -> list[Case]:
    """One of each class (some classes several ways), built around an honest message."""
    r, rt, lt, st = honest_reading(seq), A1.topic(Kind.READING), A1.topic(Kind.LOT), A1.topic(Kind.STATUS)
    reading = r.msg_id
    deep = rng.randrange(40, 3000)
    far = ["9999-12-31T00:00:00Z", "1970-01-01T00:00:12Z", (now() + timedelta(days=2)).isoformat()]
    cases = [
        Case(rt, bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))) + b"\xff", "not_json"),
        Case(lt, json.dumps(rng.choice([[1, 2], "text", 42, None, {"schema": "junkan.lot/1"}])).encode(), "schema"),
        Case(rt, _edit(r, _set("seq", "1")), "schema", reading),  # coercible types: refused, not converted
        Case(rt, _edit(r, _set("body.readings.0.value", True)), "schema", reading),
        Case(rt, _edit(r, _set("sent_at", 12)), "schema", reading),
        Case(rt, _edit(r, _set("body.readings.0.device_seq", "3")), "schema", reading),
        Case(rt, _edit(r, _set("body.readings.0.ts", "2026-11-28T09:00:00")), "schema", reading),  # no zone
        Case(rt, _edit(r, _set("body.readings.0.ts", rng.choice(far))), "clock_window", reading),
        Case(rt, _edit(r, _set("seq", 2**63)), "int_range", reading),  # past int64
        Case(rt, _edit(r, _set("body.readings.0.device_seq", 10**30)), "int_range", reading),
        Case(rt, _edit(r, _set("body.readings.0.data.big", -(2**64))), "int_range", reading),
        Case(rt, _edit(r, _set("body.readings.0.data.x", float(rng.choice(["nan", "inf", "-inf"])))),
             "non_finite", reading),
        Case(rt, _edit(r, _set("body.readings.0.value", float("nan"))), "non_finite", reading),
        Case(rt, _edit(r, _set("body.readings.0.data.x", 1)).replace(b'"x": 1', b'"x": 1e999'), "non_finite", reading),
        Case(rt, b"[" * deep + b"]" * deep, "too_deep"),
        Case(rt, _edit(r, _set("body.readings.0.data.d", json.loads("[" * 40 + "]" * 40))), "too_deep", reading),
        Case(rt, b'{"pad":"' + b"x" * (MAX_BYTES + 10) + b'"}', "too_large"),
        Case(rt, _edit(r, _set("schema", "junkan.reading/9")), "schema", reading),
        Case(rt, _edit(r, _set("agent", "agent-2")), "identity_mismatch", reading),  # envelope vs topic
        Case(f"junkan/v1/site-a/line 9/agent-1/{Kind.READING.value}", dump(r), "bad_topic"),  # bad segments
        Case(f"junkan/v1/site-a/line-1/agent:x/{Kind.READING.value}", dump(r), "bad_topic"),
        Case(f"junkan/v1/site-a/{'l' * 100}/agent-1/{Kind.LOT.value}", dump(honest_lot(seq, "opened")), "bad_topic"),
    ]
    text = "".join(chr(rng.choice([0, 0xFFFF, 0x1F600, 0x202E, rng.randrange(0x20, 0x3000)])) for _ in range(50))
    cases.append(Case(st, text.encode(), "not_json"))
    lot = honest_lot(seq, "closed", lot_id=f"LOT-{new_id()}")
    cases += [
        Case(lt, _edit(lot, _set("body.lot.agent", "agent-2")), "identity_mismatch", lot.msg_id),
        Case(lt, _edit(lot, _set("body.lot.line", "line-2")), "identity_mismatch", lot.msg_id),
        Case(lt, _edit(lot, _set("body.lot.net_mass_kg", "1.0")), "schema", lot.msg_id),
        Case(lt, _edit(lot, _set("body.lot.n_weighings", 2**40)), "schema", lot.msg_id),  # past the INTEGER column
    ]
    status = {"schema": "junkan.status/1", "agent": "agent-1", "site": "site-a", "line": "line-2",
              "session": new_id(), "state": "online", "at": now().isoformat()}
    cases.append(Case(st, json.dumps(status).encode(), "identity_mismatch"))  # status.line must be the topic's
    # Agent-2 on its own (ACL-permitted) topic, naming agent-1's lot: refused by the store.
    forged_lot = honest_lot(seq, "closed", lot_id=OWN_LOT, agent=A2, net=1.0)
    forged_reading = honest_reading(seq, agent=A2, lot=OWN_LOT)
    cases += [Case(A2.topic(Kind.LOT), dump(forged_lot), "identity_mismatch", forged_lot.msg_id),
              Case(A2.topic(Kind.READING), dump(forged_reading), "identity_mismatch", forged_reading.msg_id)]
    return cases


def stream(n: int, seed: int = 7, valid_every: int = 4) -> list[Case]:
    """``n`` messages: agent-1's lot opened first, then every ``valid_every``-th an honest reading of
    agent-1 (seq 1, 2, ...), the others hostile, cycling through every class."""
    rng = random.Random(seed)
    session = new_id()
    opened = honest_lot(1, "opened", session=session)
    out = [Case(A1.topic(Kind.LOT), dump(opened), None, opened.msg_id)]
    pool: list[Case] = []
    seq = 1
    while len(out) < n:
        if len(out) % valid_every == 0:
            seq += 1
            message = honest_reading(seq, session=session)
            out.append(Case(A1.topic(Kind.READING), dump(message), None, message.msg_id))
            continue
        if not pool:
            pool = _hostile(rng, 10_000 + len(out))
            rng.shuffle(pool)
        out.append(pool.pop())
    return out


def copy_cases(cases: list[Case]) -> list[Case]:
    return copy.deepcopy(cases)
