"""Finding and running golden cases: ``tests/golden/<key>/<case>/`` holds ``input.*`` (bytes, a CSV
export, a register dump, an image ...), ``expected.jsonl`` and optionally ``device.yaml`` (a device
entry for the decoder's settings)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from edge_agent.drivers import DRIVERS
from edge_agent.drivers.base import BadFrame, Decoded, DeviceReading

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
STREAM_SUFFIXES = {".bin", ".csv", ".jsonl", ".txt"}  # inputs a decoder must accept in any chunking


def cases() -> list[Path]:
    return sorted(p for p in GOLDEN.glob("*/*/") if p.is_dir())


def input_file(case: Path) -> Path:
    found = sorted(p for p in case.iterdir() if p.name.startswith("input."))
    assert len(found) == 1, f"{case}: expected exactly one input.* file, found {[p.name for p in found]}"
    return found[0]


def case_config(case: Path) -> Any:
    spec = DRIVERS[case.parent.name]
    path = case / "device.yaml"
    return spec.config.model_validate(yaml.safe_load(path.read_text(encoding="utf-8"))) if path.exists() else None


def decode(case: Path, chunks: list[int] | None = None) -> list[Decoded]:
    """Feed the input whole, or cut into the given chunk sizes (cycled)."""
    decoder = DRIVERS[case.parent.name].decoder(case_config(case))
    data = input_file(case).read_bytes()
    if not chunks:
        return decoder.feed(data)
    out: list[Decoded] = []
    i = n = 0
    while i < len(data):
        size = chunks[n % len(chunks)]
        out += decoder.feed(data[i : i + size])
        i, n = i + size, n + 1
    return out


def readings_json(items: list[Decoded]) -> list[dict[str, Any]]:
    return [json.loads(json.dumps(i.as_json())) for i in items if isinstance(i, DeviceReading)]


def expected(case: Path) -> list[dict[str, Any]]:
    text = (case / "expected.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def bad_frames(items: list[Decoded]) -> list[BadFrame]:
    return [i for i in items if isinstance(i, BadFrame)]
