"""Every evidence format, one registry entry each (shaped like ``DRIVERS``): API, CLI and dashboard read it.

Adding a format = one ``Exporter`` in ``EXPORTERS`` (docs/architecture.md): its key is at once the
``?format=`` value, the ``--format`` choice and a download link on the lot page.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import JsonValue

from gateway.evidence import catenax, certificate, declaration, epcis, render, untp, untp_dpp, untp_dte
from gateway.evidence.credentials import evidence_credential, signed_vc
from gateway.evidence.keys import SigningKey
from gateway.evidence.signing import sign
from junkan.core.evidence import Evidence


@dataclass(frozen=True)
class Exporter:
    """One output format of the composition evidence."""

    key: str  # ?format=, --format, the dashboard link
    media_type: str
    suffix: str  # of the downloaded file, after the lot id
    render: Callable[[Evidence, SigningKey | None], bytes]  # the key is None unless needs_key
    description: str
    needs_key: bool = False  # refuses to run without the plant's signing key (409 / exit 2)
    uses_key: bool = False  # given the key when the plant has one (sealed and named), rendered without it else
    inline: bool = False  # a browser shows it in place (no download attribute on the dashboard link)
    binary: bool = False  # never written to a terminal


def as_json(value: JsonValue) -> bytes:
    """Pretty JSON as every JSON exporter writes it."""
    return json.dumps(value, ensure_ascii=False, indent=2).encode()


def _jws(ev: Evidence, key: SigningKey | None) -> bytes:
    if key is None:  # produce() checks needs_key first; this guards direct callers
        raise ValueError("the jws exporter needs a signing key")
    return (sign(evidence_credential(ev), key) + "\n").encode()


_ALL = (
    Exporter("pdf", "application/pdf", ".pdf", lambda ev, key: certificate.pdf(ev, "en", key),
             "PDF certificate, one page: verdict, then the figures, the signing key and a QR code to verify online",
             binary=True, uses_key=True),
    Exporter("json", "application/json", ".json", lambda ev, _: as_json(ev.as_json()),
             "The junkan.evidence/1 document (docs/schemas/evidence.schema.json)"),
    Exporter("html", "text/html; charset=utf-8", ".html", lambda ev, _: render.html(ev).encode(),
             "Human-readable page with the composition chart", inline=True),
    Exporter("epcis", "application/ld+json", ".epcis.jsonld", lambda ev, _: as_json(epcis.epcis_document(ev)),
             "GS1 EPCIS 2.0 JSON-LD document"),
    Exporter("untp-dcc", "application/ld+json", ".dcc.json", lambda ev, _: as_json(untp.dcc(ev)),
             "UNTP 0.6.1 Digital Conformity Credential (unsigned)"),
    Exporter("untp-dte", "application/ld+json", ".dte.json", lambda ev, _: as_json(untp_dte.dte(ev)),
             "UNTP 0.6.1 Digital Traceability Events (unsigned)"),
    Exporter("catenax", "application/json", ".catenax.json",
             lambda ev, _: as_json(catenax.secondary_material_content(ev)),
             "Catena-X SecondaryMaterialContentCalculated 1.0.0"),
    Exporter("jws", "application/vc+jwt", ".jwt", _jws, "The evidence as a signed VC-JWT (EdDSA)", needs_key=True),
    Exporter("html-ja", "text/html; charset=utf-8", ".ja.html", lambda ev, _: render.html(ev, "ja").encode(),
             "The human-readable page in Japanese", inline=True),
    Exporter("pdf-ja", "application/pdf", ".ja.pdf", lambda ev, key: certificate.pdf(ev, "ja", key),
             "The PDF certificate in Japanese (CJK font embedded when the machine has one)", binary=True,
             uses_key=True),
    Exporter("ipc1752a", "application/xml", ".ipc1752a.xml", lambda ev, _: declaration.declaration_xml(ev),
             "IPC-1752A-style material declaration of the recycled lot (import-composition reads it back)"),
    Exporter("untp-dcc-vc", "application/vc+ld+json", ".dcc.vc.json", signed_vc(untp.dcc),
             "UNTP 0.6.1 Digital Conformity Credential, signed (VC-JWT, EnvelopedVerifiableCredential)",
             needs_key=True),
    Exporter("untp-dte-vc", "application/vc+ld+json", ".dte.vc.json", signed_vc(untp_dte.dte),
             "UNTP 0.6.1 Digital Traceability Events, signed (VC-JWT, EnvelopedVerifiableCredential)",
             needs_key=True),
    Exporter("untp-dpp", "application/ld+json", ".dpp.json", lambda ev, _: as_json(untp_dpp.dpp(ev)),
             "UNTP 0.6.1 Digital Product Passport of the lot (unsigned; claims linked to the DCC)"),
    Exporter("untp-dpp-vc", "application/vc+ld+json", ".dpp.vc.json", signed_vc(untp_dpp.dpp),
             "UNTP 0.6.1 Digital Product Passport, signed (VC-JWT, EnvelopedVerifiableCredential)",
             needs_key=True),
)
EXPORTERS: dict[str, Exporter] = {e.key: e for e in _ALL}
