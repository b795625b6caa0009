"""An operator shooting parts with a handheld XRF that exports one result file per reading."""

from __future__ import annotations

import random
import threading
from pathlib import Path

from simulators.xrf import niton_csv, vanta_csv
from simulators.xrf.samples import XrfSample, export_file, random_sample


def encode_file(flavor: str, samples: list[XrfSample]) -> bytes:
    """The export file of ``flavor`` (``vanta`` or ``niton``) holding ``samples``."""
    return vanta_csv.encode_file(samples) if flavor == "vanta" else niton_csv.encode_file(samples)


class XrfExporter:
    """An operator shooting parts: one reading every ``interval_s``, exported one file per reading."""

    def __init__(self, folder: Path, flavor: str = "vanta", interval_s: float = 5.0, seed: int = 1) -> None:
        self.folder, self.flavor, self.interval_s = folder, flavor, interval_s
        self.rng = random.Random(seed)
        self.truth: list[XrfSample] = []

    def run(self, stop: threading.Event, count: int | None = None) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        n = 0
        while not stop.is_set() and (count is None or n < count):
            n += 1
            sample = random_sample(self.rng, n)
            export_file(self.folder / f"{self.flavor}_{n:05d}.csv", encode_file(self.flavor, [sample]))
            self.truth.append(sample)
            stop.wait(self.interval_s)
