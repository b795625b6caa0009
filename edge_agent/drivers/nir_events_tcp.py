"""NIR sorter object events over TCP: one JSON object per detected object, newline-terminated.

The agent connects as a client (``socket://host:port`` through the serial runner, so reconnects,
counters and capture are the same as for scales). Line format (junkan's, documented in docs/devices.md)::

    {"t": "2026-05-01T08:00:00.120Z", "class": "PP", "confidence": 0.97, "size_mm": 42.5,
     "area_mm2": 1210.0, "ejected": true}

``t`` is optional (ISO 8601 or Unix seconds), ``class`` required, ``confidence`` 0..1, sizes ≥ 0.
An optional integer ``id`` numbers events: on every connect the agent sends
``{"resume_after": <last id it holds>}`` and a sorter that keeps a buffer replays from there, so an
agent crash neither loses nor repeats objects (the id is committed with the readings).
``{"heartbeat": ...}`` lines keep an idle connection alive and are not readings. Anything else (not
JSON, a missing class, confidence out of range, an over-long line) is a bad frame with the reason.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edge_agent.drivers.base import BadFrame, Decoded, DeviceConfigBase, DeviceReading
from edge_agent.drivers.lines import LineDecoder
from edge_agent.drivers.serial_port import SerialPortConfig, SerialRunner


class ObjectEvent(BaseModel):
    """One detected object as the sorter reports it."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    t: datetime | float | None = Field(default=None, description="Detection time (ISO 8601 or Unix s).")
    polymer: str = Field(alias="class", min_length=1, max_length=32, description="Classified material.")
    confidence: float | None = Field(default=None, ge=0, le=1, description="Classifier confidence.")
    size_mm: float | None = Field(default=None, ge=0, le=10_000, description="Largest dimension (mm).")
    area_mm2: float | None = Field(default=None, ge=0, description="Projected area (mm²).")
    ejected: bool | None = Field(default=None, description="Whether the valve fired for it.")
    id: int | None = Field(default=None, ge=0, description="Sorter's event counter; lets the agent resume.")


class EventsPortConfig(SerialPortConfig):
    """The sorter's event socket; an idle belt sends nothing, so the no-data timeout is long."""

    no_data_timeout_s: float = Field(
        default=120.0, gt=0, description="No bytes (not even a heartbeat) this long: reconnect."
    )


class NirEventsTcpConfig(DeviceConfigBase):
    """An NIR sorter streaming one JSON line per detected object."""

    type: Literal["nir_events_tcp"] = Field(description="Driver key.")
    port: EventsPortConfig = Field(description="Connection, normally socket://<sorter>:<port>.")
    stale_after_s: float = Field(default=60.0, gt=0, description="No event or heartbeat this long: stale.")


def parse_line(text: str, raw: bytes) -> Decoded | None:
    try:
        obj = json.loads(text)
    except ValueError as exc:
        return BadFrame(f"not JSON: {exc}", raw)
    if not isinstance(obj, dict):
        return BadFrame("JSON line is not an object", raw)
    if "heartbeat" in obj and "class" not in obj:
        return DeviceReading(kind="info", data={"heartbeat": True}, raw=raw)
    try:
        event = ObjectEvent.model_validate(obj)
    except ValidationError as exc:
        first = exc.errors()[0]
        return BadFrame(f"bad object event: {'.'.join(map(str, first['loc']))}: {first['msg']}", raw)
    ts: datetime | None = None
    if isinstance(event.t, datetime):
        ts = event.t if event.t.tzinfo else event.t.replace(tzinfo=UTC)
    elif isinstance(event.t, float | int):
        try:
            ts = datetime.fromtimestamp(event.t, UTC)
        except (OverflowError, OSError, ValueError):
            return BadFrame(f"time {event.t!r} out of range", raw)
    data = {"polymer": event.polymer, "confidence": event.confidence, "size_mm": event.size_mm}
    if event.area_mm2 is not None:
        data["area_mm2"] = event.area_mm2
    if event.ejected is not None:
        data["ejected"] = event.ejected
    if event.id is None:
        return DeviceReading(kind="nir_object", data=data, ts=ts, raw=raw)
    data["event_id"] = event.id
    return DeviceReading(kind="nir_object", data=data, ts=ts, raw=raw, checkpoint={"last_id": event.id})


def resume_request(checkpoint: dict[str, Any] | None) -> bytes:
    """Sent on every connect: sorters that number their events replay those after ``resume_after``
    (the last one the agent committed, or received in this process); others ignore the line."""
    last = checkpoint.get("last_id") if checkpoint else None
    return (json.dumps({"resume_after": last}) + "\n").encode()


def decoder(config: NirEventsTcpConfig | None = None) -> LineDecoder:
    return LineDecoder(parse_line)


def runner(config: NirEventsTcpConfig, capture_path: Path | None = None) -> SerialRunner:
    return SerialRunner(config.port, decoder_factory=lambda: decoder(config), capture_path=capture_path,
                        handshake=resume_request)
