"""URIs for lots, sites, devices and events; stable, so a re-issued document names the same things."""

from __future__ import annotations

import uuid
from urllib.parse import quote

VOC = "https://junkan.invalid/voc/"  # replace by the plant's own vocabulary URL when it has one
_NS = uuid.UUID("6c0d7f0e-2b55-4a36-9d2b-6a756e6b616e")


def lot_uri(lot_id: str) -> str:
    return f"urn:junkan:lot:{quote(lot_id, safe='')}"


def site_uri(site: str | None, line: str | None = None) -> str:
    return f"urn:junkan:site:{quote(site or 'unknown', safe='')}" + (f":{quote(line, safe='')}" if line else "")


def device_uri(agent: str | None, device: str) -> str:
    return f"urn:junkan:device:{quote(agent or 'unknown', safe='')}:{quote(device, safe='')}"


def event_uri(*parts: str) -> str:
    """Deterministic event id: the same lot and step always give the same URI."""
    return f"urn:uuid:{uuid.uuid5(_NS, '|'.join(parts))}"


def cas_uri(cas: str) -> str:
    return f"https://identifiers.org/CAS:{cas}"
