"""GS1 parsing (pure) and zxing-cpp decoding of rendered plates."""

from __future__ import annotations

import numpy as np
import pytest

from edge_agent.vision import codes, gs1
from simulators.camera.nameplate import code_image, nameplate_frame


def test_digital_link_path_query_and_padding() -> None:
    ais = gs1.parse_digital_link("https://id.gs1.org/01/9521234543213/10/AB%2FC/21/12345?17=261231&8013=WM-1")
    assert ais == {"01": "09521234543213", "10": "AB/C", "21": "12345", "17": "261231", "8013": "WM-1"}
    assert gs1.named(ais)["model"] == "WM-1"


def test_element_string_with_gs_and_fixed_lengths() -> None:
    raw = "]C1" + "0109521234543213" + "10ABC\x1d" + "3103000123" + "21SN9"
    assert gs1.parse_element_string(raw) == {"01": "09521234543213", "10": "ABC", "3103": "000123", "21": "SN9"}


def test_hri_and_non_gs1() -> None:
    assert gs1.parse_any("(01)09521234543213(8013)X-1") == {"01": "09521234543213", "8013": "X-1"}
    assert gs1.parse_any("https://example.com/manual.pdf") is None
    assert gs1.parse_any("just text") is None
    with pytest.raises(gs1.GS1Error):
        gs1.parse_element_string("01123")


def test_gtin_check_digit() -> None:
    assert gs1.gtin_check_digit_ok("09521234543213")
    assert not gs1.gtin_check_digit_ok("09521234543214")


@pytest.mark.parametrize("fmt", ["qr", "datamatrix", "code128"])
def test_decode_rendered_plate(fmt: str) -> None:
    frame, truth, _ = nameplate_frame(7, code=fmt)
    found = codes.decode(frame, codes.format_set(["qr", "datamatrix", "code128", "ean13"]))
    assert [c.gs1 for c in found] == [truth.gs1]
    assert found[0].format == fmt


def test_no_code_in_view_and_blank() -> None:
    frame, _, _ = nameplate_frame(8, code=None)
    assert codes.decode(frame) == []
    assert codes.decode(np.zeros((720, 1280), np.uint8)) == []


def test_code_image_is_decodable_gs1() -> None:
    img = code_image("datamatrix", "(01)09521234543213(21)A1")
    (c,) = codes.decode(np.pad(img, 20, constant_values=255))
    assert c.gs1 == {"01": "09521234543213", "21": "A1"}
