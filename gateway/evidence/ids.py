"""URIs for lots, sites, devices and events; stable, so a re-issued document names the same things.

Without GS1 keys (the gateway's ``gs1`` settings) every name is a private ``urn:junkan:...``; with them a
lot is a batch of the plant's GTIN (LGTIN, EPC class URN or GS1 Digital Link) and the site its GLN (SGLN),
check digits computed in ``gs1.py``. A lot id GS1 cannot carry keeps its private URN (``gs1_lot_problem``
says why), so the same lot never gets two names.
"""

from __future__ import annotations

import uuid
from urllib.parse import quote, unquote

from gateway.evidence import gs1 as keys
from junkan.core.evidence import Gs1Keys

VOC = "https://junkan.invalid/voc/"  # replace by the plant's own vocabulary URL when it has one
_NS = uuid.UUID("6c0d7f0e-2b55-4a36-9d2b-6a756e6b616e")


def lot_uri(lot_id: str, gs1: Gs1Keys | None = None) -> str:
    """The lot's class-level id: LGTIN when the plant has GS1 keys and the lot id is a valid batch number."""
    if gs1 is not None and keys.lot_number_problem(lot_id) is None:
        if gs1.lot_uri == "digital_link":
            return keys.lgtin_digital_link(gs1.gtin, lot_id)
        return keys.lgtin_urn(gs1.company_prefix, gs1.gtin, lot_id)
    return f"urn:junkan:lot:{quote(lot_id, safe='')}"


def lot_id_of(uri: str) -> str:
    """The lot id a ``lot_uri`` names (its inverse): the batch of an LGTIN (EPC class URN or Digital Link),
    else the private URN's last part. Why: a name shown beside the id (the DTE's productName) must be the
    lot id, not a fragment of a GS1 URI."""
    if uri.startswith("urn:epc:class:lgtin:"):
        return unquote(uri.removeprefix("urn:epc:class:lgtin:").split(".", 2)[-1])
    if uri.startswith(keys.DIGITAL_LINK) and "/10/" in uri:
        return unquote(uri.rsplit("/10/", 1)[-1])
    return unquote(uri.rsplit(":", 1)[-1])


def gs1_lot_problem(lot_id: str, gs1: Gs1Keys | None) -> str | None:
    """Why the lot keeps its private URN although the plant has GS1 keys (None: it does not)."""
    return keys.lot_number_problem(lot_id) if gs1 is not None else None


def site_uri(site: str | None, line: str | None = None, gs1: Gs1Keys | None = None) -> str:
    """The site (and line): SGLN of the plant's GLN, the line as GLN extension when it fits, else private."""
    if gs1 is not None and gs1.gln is not None:
        ext = line if line and keys.lot_number_problem(line) is None else "0"
        return keys.sgln_urn(gs1.company_prefix, gs1.gln, ext)
    return f"urn:junkan:site:{quote(site or 'unknown', safe='')}" + (f":{quote(line, safe='')}" if line else "")


def device_uri(agent: str | None, device: str) -> str:
    return f"urn:junkan:device:{quote(agent or 'unknown', safe='')}:{quote(device, safe='')}"


def device_type_uri(kind: str) -> str:
    """What kind of instrument a device is (scale, xrf_analyser, nir_analyser ...), as a vocabulary URI."""
    return f"{VOC}DeviceType-{quote(kind, safe='')}"


def event_uri(*parts: str) -> str:
    """Deterministic event id: the same lot and step always give the same URI."""
    return f"urn:uuid:{uuid.uuid5(_NS, '|'.join(parts))}"


def cas_uri(cas: str) -> str:
    return f"https://identifiers.org/CAS:{cas}"
