"""Dialect-neutral write logic shared by the SQLite and PostgreSQL stores.

Deduplication is the database's job: ``messages`` has the primary key (agent, msg_id) and the insert
uses ``ON CONFLICT DO NOTHING``; only a message whose row was really inserted has its readings and lot
event applied. So a QoS1 redelivery or an agent resend is acknowledged as ``duplicate`` and stored once.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain
from typing import Any, cast

import pydantic_core
from pydantic import TypeAdapter

from gateway.store.base import DeadLetter, Incoming
from gateway.store.db import native
from junkan.core.messages import AckItem, LotMessage, ReadingRecords, StatusMessage
from junkan.core.names import NAME_RE
from junkan.core.topics import PREFIX

CLAIM_CHUNK = 500  # lot ids per multi-row INSERT / IN list (2 parameters each: far below both databases' limits)
CHUNK_MAX = 256  # rows per multi-row INSERT of messages / readings (14 parameters at most: 3584, far below both)
# json.dumps with non-default separators builds a new encoder per call; one reused encoder is ~4x faster.
_COMPACT = json.JSONEncoder(separators=(",", ":"))
_ACKS = TypeAdapter(list[AckItem])  # one call per batch: ~35% cheaper than an AckItem() per message
JSON_COLUMNS = ("devices", "measurement", "data", "open_lot", "alarms", "agents")


def json_columns(row: dict[str, Any]) -> dict[str, Any]:
    """Decode the JSON text columns of a row read back from either database."""
    for key in JSON_COLUMNS:
        value = row.get(key)
        if isinstance(value, str):
            try:
                row[key] = json.loads(value)
            except ValueError:
                pass
    return row


def iso(ts: datetime | None) -> str | None:
    return None if ts is None else ts.astimezone(UTC).isoformat()


# pydantic's parser gives every "...Z" timestamp this one tzinfo object: an identity test then says "UTC"
# without a utcoffset() call (into pydantic-core) per reading.
PARSED_UTC = TypeAdapter(datetime).validate_json(b'"2000-01-01T00:00:00Z"').tzinfo
_TWO = [f"{i:02d}" for i in range(60)]
_DAYS: dict[int, str] = {}  # date ordinal -> "YYYY-MM-DDT": readings of one day share it
_TAILS: dict[int, str] = {0: "+00:00"}  # microseconds -> ".ffffff+00:00" (readings at ms steps: 1000 of them)


def utc_text(ts: datetime) -> str:
    """``iso(ts)`` for a non-None timestamp: the same text, built from cached pieces. ``isoformat()``
    cost ~16k instructions a call (CPython 3.11 formats each field with libc ``sprintf``, the offset with
    ``snprintf`` after a ``utcoffset()`` call): 7% of a one-reading message's ingest (callgrind)."""
    tz = ts.tzinfo
    if tz is not PARSED_UTC and tz is not UTC:
        offset = ts.utcoffset()
        if offset is None or offset:
            ts = ts.astimezone(UTC)
    return _utc_fields(ts)


def _utc_fields(ts: datetime) -> str:
    """The ISO text of a UTC timestamp (``YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00``); its offset is not looked at."""
    day = _DAYS.get(ordinal := ts.toordinal())
    if day is None:
        if len(_DAYS) > 4096:
            _DAYS.clear()
        day = _DAYS[ordinal] = f"{ts.year:04d}-{ts.month:02d}-{ts.day:02d}T"
    tail = _TAILS.get(us := ts.microsecond)
    if tail is None:  # formatting the fraction (int.__format__) cost more than the rest of the text
        if len(_TAILS) > 4096:
            _TAILS.clear()
            _TAILS[0] = "+00:00"
        tail = _TAILS[us] = f".{us:06d}+00:00"
    return f"{day}{_TWO[ts.hour]}:{_TWO[ts.minute]}:{_TWO[ts.second]}{tail}"


def json_text(value: dict[str, Any]) -> str:
    """Compact JSON of a validated free-form dict, serialised in Rust (pydantic-core): ~6x faster than
    the stdlib encoder. Non-ASCII stays UTF-8 instead of \\u escapes (same JSON value); NaN/Infinity
    are written as the stdlib writes them. Anything pydantic-core refuses goes the stdlib way."""
    if not value:
        return "{}"
    try:
        return pydantic_core.to_json(value, inf_nan_mode="constants").decode()
    except (ValueError, TypeError, UnicodeError, pydantic_core.PydanticSerializationError):
        return _COMPACT.encode(value)


@dataclass(frozen=True)
class WriteOptions:
    """Dead-letter limits (gateway settings ``dead_letters``): past an agent's byte budget only the first
    ``keep_bytes`` of a payload are kept (with its full size and sha256); ``purge_before`` (ISO time)
    deletes older dead letters in the same transaction (the consumer sets it now and then)."""

    budget_bytes_per_agent: int = 10_000_000
    keep_bytes: int = 1024
    purge_before: str | None = None


DEFAULT_OPTIONS = WriteOptions()
_READINGS = ("INSERT INTO readings (agent, msg_id, idx, site, line, device, device_seq, ts, kind, value, unit, status, "
             "lot_id, data) VALUES ")


def chunks(n: int) -> Iterator[tuple[int, int]]:
    """(start, size) covering ``n`` rows in chunks of a power of two (at most CHUNK_MAX), one multi-row
    statement each: the statement texts are then a handful the drivers keep prepared. A batch's rows as
    one statement was a new text, compiled again, nearly every batch (batch sizes vary)."""
    start = 0
    while start < n:
        size = min(CHUNK_MAX, 1 << ((n - start).bit_length() - 1))
        yield start, size
        start += size


@functools.cache
def values_sql(head: str, width: int, rows: int, tail: str, ph: str) -> str:
    """``head`` + ``rows`` groups of ``width`` placeholders + ``tail``, in the driver's placeholder."""
    group = "(" + ",".join(["?"] * width) + ")"
    return native(head + ",".join([group] * rows) + tail, ph)
STATUS_SUFFIX = "/status"


def topic_agent(topic: str) -> str | None:
    """The agent segment of a junkan topic, if the topic has a valid one (dead letters are filed by it)."""
    parts = topic.split("/")
    if len(parts) == 6 and f"{parts[0]}/{parts[1]}" == PREFIX and NAME_RE.match(parts[4]):
        return parts[4]
    return None


class BatchWriter:
    """Writes one batch inside a transaction the caller opened. ``ph`` is the placeholder (? or %s)."""

    def __init__(self, execute: Callable[..., Any], executemany: Callable[..., Any], ph: str,
                 options: WriteOptions = DEFAULT_OPTIONS) -> None:
        self.execute, self.executemany, self.ph = execute, executemany, ph
        self.options = options

    def _sql(self, sql: str) -> str:
        return native(sql, self.ph)

    def write(self, incoming: list[Incoming], dead: list[DeadLetter], statuses: list[StatusMessage]) -> list[AckItem]:
        now = datetime.now(UTC).isoformat()
        results: list[dict[str, Any]] = []
        readings: list[tuple[Any, ...]] = []
        dead = list(dead)
        refused = self._foreign_lots(incoming)
        claimed = self._claim([i for i in incoming if id(i) not in refused] if refused else incoming, now)
        for item in incoming:
            msg_id = item.msg_id
            reason = refused.get(id(item)) if refused else None
            if reason is not None:
                results.append({"msg_id": msg_id, "result": "rejected", "reason": reason})
                dead.append(DeadLetter(_topic_text(item), item.payload or _dump(item.message), reason, msg_id=msg_id))
                continue
            key = (item.agent, msg_id)
            if key not in claimed:
                results.append({"msg_id": msg_id, "result": "duplicate"})
                continue
            claimed.discard(key)  # the same message twice in one batch: the 2nd is a duplicate
            results.append({"msg_id": msg_id, "result": "stored"})
            if item.readings is not None:
                readings += self._reading_rows(item)
            else:
                self._apply_lot(cast(LotMessage, item.message), now)
        if readings:
            for start, size in chunks(len(readings)):  # ~25% cheaper than executemany's statement per row
                self.execute(values_sql(_READINGS, 14, size, " ON CONFLICT DO NOTHING", self.ph),
                             list(chain.from_iterable(readings[start : start + size])))
            self._touch_devices(readings, now)
        if dead:
            self._dead_letters(dead, now)
        if self.options.purge_before:
            self.execute(self._sql("DELETE FROM dead_letters WHERE received_at < ?"), (self.options.purge_before,))
        for status in sorted(statuses, key=lambda st: st.agent):  # stable: one agent's statuses keep their order
            self._apply_status(status, now)
        return _ACKS.validate_python(results)

    def _foreign_lots(self, incoming: list[Incoming]) -> dict[int, str]:
        """Lot identity is scoped by agent: the first agent to name a lot id owns it (``lot_owners``), and
        a lot event or reading of another agent naming it is refused (``id(item)`` -> reason). Claiming
        first, then reading the owners back, is right with N workers: a concurrent claim of the same id
        waits for the other transaction, and the owner read after it is the winner."""
        named: list[tuple[Incoming, tuple[str, ...]]] = []
        first: dict[str, str] = {}
        for item in incoming:  # the hot path: one-reading messages of one agent naming one lot
            rows = item.readings
            if rows is None:
                lots: tuple[str, ...] = (cast(LotMessage, item.message).body.lot.lot_id,)
            elif len(rows) == 1:
                lot = rows[0].get("lot_id")
                lots = (lot,) if lot else ()
            else:
                lots = tuple({lot for r in rows if (lot := r.get("lot_id"))})
            if lots:
                named.append((item, lots))
                for lot in lots:
                    if lot not in first:
                        first[lot] = item.agent
        if not first:
            return {}
        owners: dict[str, str] = {}
        pairs = sorted(first.items())
        for start in range(0, len(pairs), CLAIM_CHUNK):
            chunk = pairs[start : start + CLAIM_CHUNK]
            self.execute(self._sql("INSERT INTO lot_owners (lot_id, agent) VALUES "
                                   + ",".join(["(?,?)"] * len(chunk)) + " ON CONFLICT DO NOTHING"),
                         [v for pair in chunk for v in pair])
            cursor = self.execute(self._sql("SELECT lot_id, agent FROM lot_owners WHERE lot_id IN ("
                                            + ",".join(["?"] * len(chunk)) + ")"), [lot for lot, _ in chunk])
            owners.update((lot, agent) for lot, agent in cursor.fetchall())
        refused: dict[int, str] = {}
        for item, lots in named:
            agent = item.agent
            for lot in lots:
                owner = owners.get(lot, agent)
                if owner != agent:
                    refused[id(item)] = f"identity_mismatch: lot {lot!r} belongs to agent {owner!r}, not {agent!r}"
                    break
        return refused

    def _dead_letters(self, dead: list[DeadLetter], now: str) -> None:
        """Filed by agent with size and sha256; past the agent's byte budget only the head is kept."""
        used: dict[str | None, int] = {}
        rows = []
        for letter in dead:
            agent = topic_agent(letter.topic)
            if agent not in used:
                used[agent] = int(self.execute(self._sql(
                    "SELECT COALESCE(SUM(LENGTH(payload)), 0) FROM dead_letters WHERE "
                    + ("agent = ?" if agent is not None else "agent IS NULL")),
                    (agent,) if agent is not None else ()).fetchone()[0])
            payload = letter.payload
            size = letter.size if letter.size is not None else len(payload)
            digest = letter.sha256 or hashlib.sha256(payload).hexdigest()
            if used[agent] + len(payload) > self.options.budget_bytes_per_agent:
                payload = payload[: self.options.keep_bytes]
            used[agent] += len(payload)
            dedup = digest if letter.topic.endswith(STATUS_SUFFIX) else None  # N workers see each status
            rows.append((letter.topic[:512], agent, payload, letter.reason[:2000], size, digest,
                         int(len(payload) < size), now, dedup))
        self.executemany(self._sql("INSERT INTO dead_letters (topic, agent, payload, reason, size, sha256, truncated, "
                                   "received_at, dedup_key) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING"), rows)

    def _claim(self, incoming: list[Incoming], now: str) -> set[tuple[str, str]]:
        """Insert the message keys, many per statement; RETURNING names the ones that were new.

        One round trip per chunk instead of one per message: on PostgreSQL that is most of the cost
        of a batch of small messages."""
        claimed: set[tuple[str, str]] = set()
        # Key order: concurrent workers then take row locks in the same order (no deadlock cycles).
        ordered = sorted(incoming, key=lambda i: (i.agent, i.msg_id))
        for start, size in chunks(len(ordered)):
            params: list[Any] = []
            for item in ordered[start : start + size]:
                msg = item.message
                params += [item.agent, item.msg_id, msg.session, msg.seq,
                           "lot" if item.readings is None else "reading", now]
            cursor = self.execute(values_sql("INSERT INTO messages (agent, msg_id, session, seq, kind, received_at) "
                                             "VALUES ", 6, size, " ON CONFLICT DO NOTHING RETURNING agent, msg_id",
                                             self.ph), params)
            claimed.update((agent, msg_id) for agent, msg_id in cursor.fetchall())
        return claimed

    @staticmethod
    def _reading_rows(item: Incoming) -> list[tuple[Any, ...]]:
        # Per-message values hoisted out of the per-reading loop (this list is the ingest hot path).
        # utc_text's test inlined for the common case (a "...Z" timestamp). Absent optional keys are the
        # model's defaults (None, empty data).
        agent, msg_id, site, line = item.agent, item.msg_id, item.topic.site, item.topic.line
        return [
            (agent, msg_id, idx, site, line, r["device"], r["device_seq"],
             _utc_fields(ts) if (ts := r["ts"]).tzinfo is PARSED_UTC else utc_text(ts),
             r["kind"], r.get("value"), r.get("unit"), r.get("status"), r.get("lot_id"),
             json_text(data) if (data := r.get("data")) else "{}")
            for idx, r in enumerate(item.readings or ())
        ]

    def _touch_devices(self, rows: list[tuple[Any, ...]], now: str) -> None:
        latest: dict[tuple[str, str], tuple[str, str, str]] = {}
        for row in rows:
            key = (row[0], row[5])
            if key not in latest or row[7] > latest[key][2]:
                latest[key] = (row[3], row[4], row[7])
        self.executemany(self._sql(
            "INSERT INTO devices (agent, device, site, line, last_reading_at, updated_at) VALUES (?,?,?,?,?,?) "
            "ON CONFLICT (agent, device) DO UPDATE SET last_reading_at = CASE WHEN devices.last_reading_at IS NULL "
            "OR excluded.last_reading_at > devices.last_reading_at THEN excluded.last_reading_at "
            "ELSE devices.last_reading_at END, updated_at = excluded.updated_at"),
            [(agent, device, site, line, ts, now) for (agent, device), (site, line, ts) in sorted(latest.items())])

    def _apply_lot(self, msg: LotMessage, now: str) -> None:
        lot = msg.body.lot
        values = (lot.lot_id, lot.site, lot.line, lot.agent, lot.status, iso(lot.opened_at), iso(lot.closed_at),
                  lot.close_reason, lot.net_mass_kg, lot.n_weighings, json.dumps(lot.devices),
                  lot.measurement.model_dump_json(), now)
        insert = ("INSERT INTO lots (lot_id, site, line, agent, status, opened_at, closed_at, close_reason, "
                  "net_mass_kg, n_weighings, devices, measurement, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) ")
        if msg.body.event == "opened":
            self.execute(self._sql(insert + "ON CONFLICT (lot_id) DO NOTHING"), values)
        else:  # closing is final: it overwrites an 'open' row, whatever order the two arrived in, opened_at
            # included (after a wall-clock step the agent shifts the open time so the lot's duration stays true)
            self.execute(self._sql(
                insert + "ON CONFLICT (lot_id) DO UPDATE SET status = excluded.status, "
                "opened_at = excluded.opened_at, closed_at = excluded.closed_at, "
                "close_reason = excluded.close_reason, net_mass_kg = excluded.net_mass_kg, "
                "n_weighings = excluded.n_weighings, devices = excluded.devices, "
                "measurement = excluded.measurement, updated_at = excluded.updated_at"), values)

    def _apply_status(self, status: StatusMessage, now: str) -> None:
        row = self.execute(self._sql("SELECT session, at FROM agents WHERE agent = ?"), (status.agent,)).fetchone()
        if row is not None and status.state == "offline" and row[0] != status.session:
            return  # a late Will of an older session must not mark the current one offline
        if row is not None and row[0] == status.session and row[1] > iso(status.at):
            return  # older status of the same session (redelivered)
        open_lot = status.open_lot.model_dump(mode="json") if status.open_lot else None
        self.execute(self._sql(
            "INSERT INTO agents (agent, site, line, session, state, at, outbox_depth, outbox_oldest_age_s, open_lot, "
            "alarms) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT (agent) DO UPDATE SET site=excluded.site, "
            "line=excluded.line, session=excluded.session, state=excluded.state, at=excluded.at, "
            "outbox_depth=excluded.outbox_depth, outbox_oldest_age_s=excluded.outbox_oldest_age_s, "
            "open_lot=excluded.open_lot, alarms=excluded.alarms"),
            (status.agent, status.site, status.line, status.session, status.state, iso(status.at),
             status.outbox_depth, status.outbox_oldest_age_s, json.dumps(open_lot), json.dumps(status.alarms)))
        for dev in status.devices:
            self.execute(self._sql(
                "INSERT INTO devices (agent, device, site, line, driver, state, last_reading_at, frames_ok, "
                "frames_bad, reconnects, last_error, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT (agent, device) DO UPDATE SET driver=excluded.driver, state=excluded.state, "
                "frames_ok=excluded.frames_ok, "
                "frames_bad=excluded.frames_bad, reconnects=excluded.reconnects, last_error=excluded.last_error, "
                "updated_at=excluded.updated_at, last_reading_at=COALESCE(excluded.last_reading_at, "
                "devices.last_reading_at)"),
                (status.agent, dev.device, status.site, status.line, dev.driver, dev.state,
                 iso(dev.last_reading_at), dev.frames_ok, dev.frames_bad, dev.reconnects, dev.last_error, now))


def _topic_text(item: Incoming) -> str:
    t = item.topic
    return f"{PREFIX}/{t.site}/{t.line}/{t.agent}/{t.kind.value}"


def _dump(message: ReadingRecords | LotMessage) -> bytes:
    return message.model_dump_json(by_alias=True).encode()
