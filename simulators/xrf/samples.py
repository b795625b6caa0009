"""What an XRF analyser measures, protocol-free: an ``XrfSample`` is the truth (ppm per element, None =
below the detection limit). The vendor encoders (``vanta_csv``, ``niton_csv``) write it in their layout;
``export_file`` writes a file the way a slow network share does (``half_written`` leaves it cut mid-row for
a while, to test that watchers wait). Never imports the agent's parser.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path

ELEMENTS = ("Cr", "Br", "Cd", "Hg", "Pb", "Sb")
LOD_PPM = {"Cr": 15.0, "Br": 3.0, "Cd": 8.0, "Hg": 5.0, "Pb": 6.0, "Sb": 12.0}
SERIAL = "801067"


@dataclass(frozen=True)
class XrfSample:
    reading_no: int
    ppm: dict[str, float | None]  # None: below LOD
    error_1s: dict[str, float]
    label: str = ""


def random_sample(rng: random.Random, reading_no: int, bfr: bool | None = None) -> XrfSample:
    """A WEEE plastic part: brominated (Br 2 000-13 000 ppm) or clean, some Sb with Br, traces of Pb."""
    bfr = rng.random() < 0.3 if bfr is None else bfr
    ppm: dict[str, float | None] = dict.fromkeys(ELEMENTS)
    if bfr:
        br = round(rng.uniform(2000, 13000), 1)
        ppm["Br"], ppm["Sb"] = br, round(br * rng.uniform(0.2, 0.5), 1)
    elif rng.random() < 0.5:
        ppm["Br"] = round(rng.uniform(5, 400), 1)
    if rng.random() < 0.3:
        ppm["Pb"] = round(rng.uniform(10, 300), 1)
    if rng.random() < 0.2:
        ppm["Cr"] = round(rng.uniform(20, 200), 1)
    err = {e: round(max(LOD_PPM[e] / 3, 0.02 * (v or 0)), 1) for e, v in ppm.items()}
    return XrfSample(reading_no, ppm, err, label=f"part-{reading_no}")


def export_file(path: Path, data: bytes, half_written_s: float = 0.0) -> None:
    """Write an export; with ``half_written_s`` the file stays cut mid-row that long first."""
    if half_written_s > 0:
        cut = len(data) - max(5, len(data) // 7)
        path.write_bytes(data[:cut])
        time.sleep(half_written_s)
    path.write_bytes(data)
