"""The certificate's online check (issue 17.10): a signed PDF names its key and carries a sealed verification
link as text and QR code; the issuer's public /verify page shows the figures as issued (compared here with
the store, not with the exporter) and the revocation state; a tampered or foreign link is refused."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import zxingcpp
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw
from reportlab.graphics.shapes import Drawing, Rect
from reportlab.lib import colors

from gateway.app import create_app
from gateway.evidence import keys
from gateway.evidence.certificate import _qr
from gateway.evidence.did import did_from_domain
from gateway.evidence.formats import produce
from gateway.settings import GatewaySettings
from junkan.core.evidence import Issuer
from tests.evidence.plant import build_plant
from tests.evidence.semantic.test_certificate_semantics import pdf_text
from tests.evidence.semantic.truth import blocked_in_store

LOT = "PP-OUT-1"


def raster(drawing: Drawing, scale: int = 8) -> Image.Image:
    """The QR drawing as pixels: every dark module rectangle reportlab would paint, painted with PIL."""
    widget = drawing.contents[0]
    x0, y0, x1, y1 = widget.getBounds()
    img = Image.new("L", (int((x1 - x0) * scale) + 1, int((y1 - y0) * scale) + 1), 255)
    pen = ImageDraw.Draw(img)

    def walk(node: Any) -> None:
        for c in getattr(node, "contents", []):
            if not isinstance(c, Rect):
                walk(c)
            elif c.fillColor is not None and c.fillColor != colors.white:
                pen.rectangle([(c.x - x0) * scale, img.height - (c.y - y0 + c.height) * scale,
                               (c.x - x0 + c.width) * scale - 1, img.height - (c.y - y0) * scale - 1], fill=0)

    walk(widget.draw())
    return img


@pytest.fixture
def plant(gateway_store: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Path, TestClient]:
    build_plant(gateway_store)
    folder = tmp_path / "keys"
    keys.generate(folder, Issuer(name="Plant A", id=did_from_domain("plant.example:8443")))
    monkeypatch.setenv("JUNKAN_KEYS_DIR", str(folder))
    return gateway_store, folder, TestClient(create_app(GatewaySettings(consume=False), gateway_store))


def link_in(pdf: bytes) -> str:
    """The verification link of the PDF's one /URI annotation (the clickable text beside the QR code)."""
    found = re.findall(rb"/URI \(((?:\\.|[^\\)])*)\)", pdf)
    assert len(found) == 1, found
    return re.sub(rb"\\(.)", rb"\1", found[0]).decode()


def test_signed_certificate_links_to_the_figures_as_issued(plant: tuple[Any, Path, TestClient]) -> None:
    store, folder, client = plant
    pdf, _ = produce(store, LOT, "pdf", folder)
    text, url = pdf_text(pdf), link_in(pdf)
    kid = keys.active(folder).kid
    assert kid in text and "NOT SIGNED" not in text
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1  # the QR code and key still fit on one page
    ja, _ = produce(store, LOT, "pdf-ja", folder)
    assert len(re.findall(rb"/Type\s*/Page[^s]", ja)) == 1 and b"/URI" in ja
    assert url.startswith("https://plant.example:8443/verify?")  # the issuer's did:web origin
    assert [r.text for r in zxingcpp.read_barcodes(raster(_qr(url, 30)))] == [url]  # an independent decoder
    parts = urlsplit(url)
    page = client.get(f"{parts.path}?{parts.query}")
    assert page.status_code == 200, page.text
    mass = store.db.one("SELECT SUM(mass_kg) AS m FROM process_flows WHERE lot_id = ? AND direction = 'out'",
                        (LOT,))["m"]
    assert f"{float(mass):.3f} kg" in page.text and LOT in page.text and kid in page.text
    assert "valid, not revoked" in page.text
    claims = "blocked / 保留" if blocked_in_store(store.db, LOT) else "not blocked / 保留なし"
    assert f"<td>{claims}</td>" in page.text
    revoked = client.post("/api/v1/evidence/revoke", json={"lot_id": LOT})
    assert revoked.status_code == 200 and revoked.json()["revoked"]
    assert "REVOKED" in client.get(f"{parts.path}?{parts.query}").text


def test_altered_or_foreign_links_are_refused(plant: tuple[Any, Path, TestClient], tmp_path: Path) -> None:
    store, folder, client = plant
    parts = urlsplit(link_in(produce(store, LOT, "pdf", folder)[0]))
    heavier = re.sub(r"(?<=[?&])m=[0-9.]+", "m=99999.000", parts.query)
    assert heavier != parts.query
    assert client.get(f"{parts.path}?{heavier}").status_code == 404  # the figures are sealed
    other = tmp_path / "other-keys"
    keys.generate(other, Issuer(name="Forger", id=did_from_domain("plant.example:8443")))
    forged = urlsplit(link_in(produce(store, LOT, "pdf", other)[0]))
    assert client.get(f"{forged.path}?{forged.query}").status_code == 404  # sealed by a key not in this ring
    assert client.get("/verify?e=x&lot=PP-OUT-1&k=abc&t=00").status_code == 404


def test_a_rotation_keeps_old_links_a_revoked_key_does_not(plant: tuple[Any, Path, TestClient]) -> None:
    store, folder, client = plant
    old_kid = keys.active(folder).kid
    parts = urlsplit(link_in(produce(store, LOT, "pdf", folder)[0]))
    keys.rotate(folder)
    assert client.get(f"{parts.path}?{parts.query}").status_code == 200
    keys.revoke_key(folder, old_kid)
    assert client.get(f"{parts.path}?{parts.query}").status_code == 404


def test_without_a_key_the_certificate_says_it_is_not_signed(gateway_store: Any, tmp_path: Path) -> None:
    build_plant(gateway_store)
    pdf, _ = produce(gateway_store, LOT, "pdf", tmp_path / "no-keys")
    text = pdf_text(pdf)
    assert "NOT SIGNED" in text and "/verify?" not in text
