"""Bad input never escapes a parser: random bytes, truncations, bit flips, parity bits, over-long lines.

Every item a decoder returns is a reading or a bad frame; weights that are not ok/unstable carry no
value; a Toledo reading only ever comes from a frame whose checksum holds. Bounded: a few seconds each.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge_agent.drivers import DRIVERS
from edge_agent.drivers.base import BadFrame, DeviceReading
from edge_agent.drivers.toledo_continuous import checksum_ok
from tests.devices.golden import cases, input_file

KEYS = ["mt_sics", "and_ad", "sartorius_sbi", "ohaus", "toledo_continuous", "vanta_csv", "niton_csv",
        "nir_sorter_modbus", "nir_events_tcp"]
SEEDS = {k: b"".join(input_file(c).read_bytes() for c in cases() if c.parent.name == k) for k in KEYS}
FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check(key: str, chunks: list[bytes]) -> None:
    decoder = DRIVERS[key].decoder(None)
    for chunk in chunks:
        for item in decoder.feed(chunk):
            assert isinstance(item, DeviceReading | BadFrame)
            if isinstance(item, BadFrame):
                assert item.reason
                continue
            if item.kind == "weight":
                assert item.unit == "kg"
                if item.status in ("ok", "unstable"):
                    assert item.value is not None and math.isfinite(item.value)
                else:
                    assert item.value is None, item
            if key == "toledo_continuous":
                assert checksum_ok(item.raw), "a reading from a frame that fails its checksum"
            item.as_json()


def mutate(data: bytes, flips: list[tuple[int, int]], cut: int, parity: bool) -> bytes:
    buf = bytearray(data)
    for pos, bit in flips:
        if buf:
            buf[pos % len(buf)] ^= 1 << bit
    if parity:
        buf = bytearray(b | 0x80 if bin(b).count("1") % 2 else b for b in buf)
    return bytes(buf[: cut % (len(buf) + 1)] if cut >= 0 else buf)


@pytest.mark.parametrize("key", KEYS)
@FUZZ
@given(data=st.binary(max_size=600), split=st.integers(1, 64))
def test_random_bytes(key: str, data: bytes, split: int) -> None:
    check(key, [data[i : i + split] for i in range(0, len(data), split)])


@pytest.mark.parametrize("key", KEYS)
@FUZZ
@given(flips=st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 7)), max_size=12),
       cut=st.integers(-1, 1 << 16), parity=st.booleans(), split=st.integers(1, 97))
def test_mutated_real_input(key: str, flips: list[tuple[int, int]], cut: int, parity: bool, split: int) -> None:
    data = mutate(SEEDS[key], flips, cut, parity)
    check(key, [data[i : i + split] for i in range(0, len(data), split)])


@pytest.mark.parametrize("key", KEYS)
@settings(max_examples=20, deadline=None)
@given(filler=st.sampled_from([b"9", b"A", b",", b" ", b"\x02", b"{"]), n=st.integers(300, 200_000))
def test_over_long_lines(key: str, filler: bytes, n: int) -> None:
    """A stream with no line end / frame start for a long time is dropped, not buffered without bound."""
    decoder = DRIVERS[key].decoder(None)
    items = []
    for _ in range(0, n, 4096):
        items += decoder.feed(filler * 4096)
    assert all(isinstance(i, DeviceReading | BadFrame) for i in items)
    buffered = getattr(decoder, "_buf", b"")
    assert len(buffered) <= 1 << 20
