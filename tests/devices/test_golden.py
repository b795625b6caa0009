"""Every golden case of every driver (other engineers' too): decoded readings equal expected.jsonl."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.drivers import DRIVERS
from tests.devices.golden import STREAM_SUFFIXES, cases, decode, expected, input_file, readings_json

CASES = cases()


@pytest.mark.parametrize("case", CASES, ids=[f"{c.parent.name}/{c.name}" for c in CASES])
def test_golden_case(case: Path) -> None:
    assert case.parent.name in DRIVERS, f"golden folder {case.parent.name!r} is not a registered driver"
    assert (case / "expected.jsonl").exists(), f"{case}: no expected.jsonl"
    assert readings_json(decode(case)) == expected(case)


STREAM_CASES = [c for c in CASES if c.parent.name in DRIVERS and input_file(c).suffix in STREAM_SUFFIXES]


@pytest.mark.parametrize("case", STREAM_CASES, ids=[f"{c.parent.name}/{c.name}" for c in STREAM_CASES])
@pytest.mark.parametrize("chunks", [[1], [3, 7, 2], [64]], ids=["bytewise", "ragged", "64"])
def test_golden_case_any_chunking(case: Path, chunks: list[int]) -> None:
    """A stream decoder must not care how the bytes were cut into reads."""
    assert readings_json(decode(case, chunks)) == expected(case)


def test_golden_cases_cover_bad_input() -> None:
    """Each of this task's drivers has at least one case with input its parser must reject."""
    from tests.devices.golden import bad_frames

    mine = ["mt_sics", "and_ad", "sartorius_sbi", "ohaus", "toledo_continuous", "vanta_csv", "niton_csv",
            "nir_sorter_modbus", "nir_events_tcp", "opcua"]
    for key in mine:
        key_cases = [c for c in CASES if c.parent.name == key]
        assert key_cases, f"no golden case for {key}"
        assert any(bad_frames(decode(c)) for c in key_cases), f"{key}: no golden case exercises bad input"
