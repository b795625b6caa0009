"""Handheld XRF analyser exports (encoder only): Evident Vanta and Thermo Niton result CSV.

A ``XrfSample`` is the truth (ppm per element, None = below the detection limit); the encoders write
the vendor layout; ``export_file`` writes a file the way a slow network share does (``half_written``
leaves it cut mid-row for a while, to test that watchers wait). Never imports the agent's parser.
"""

from __future__ import annotations

import random
import threading
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


def vanta_header() -> str:
    fixed = ("Instrument Serial Num,Reading #,Date,Time,Method Name,User Factor Name,Test Label,"
             "Collimation Status,Latitude,Longitude, Units")
    per = [f"{e} Compound,{e} Compound Level,{e} Compound Error,{e} Concentration,{e} Error 1s" for e in ELEMENTS]
    return "sep=,\r\n" + ",".join([fixed, *per, "info"]) + ",\r\n"


def vanta_row(s: XrfSample, when: time.struct_time | None = None, percent: bool = False) -> str:
    when = when or time.gmtime()
    unit = "%" if percent else "ppm"
    cells = [SERIAL, str(s.reading_no), time.strftime("%Y-%m-%d", when), time.strftime("%H:%M:%S", when),
             "GeoChem", "", s.label, "No", "", "", unit]
    for e in ELEMENTS:
        v = s.ppm[e]
        scale = 1e-4 if percent else 1.0
        value = "<LOD" if v is None else f"{v * scale:g}"
        cells += ["", "", "", value, f"{s.error_1s[e] * scale:g}"]
    return ",".join([*cells, s.label]) + ",\r\n"


def niton_header() -> str:
    cols = ["Index", "Reading No", "Time", "Type", "Duration", "Units", "Sigma Value", "Sequence", "User1",
            "Flags", "SAMPLE"]
    for e in ELEMENTS:
        cols += [e, f"{e} Error"]
    return ",".join(cols) + "\r\n"


def niton_row(s: XrfSample, sigma: float = 2.0, when: time.struct_time | None = None) -> str:
    when = when or time.gmtime()
    cells = [str(s.reading_no), str(s.reading_no), time.strftime("%d/%m/%Y %H:%M", when), "PLASTICS", "30.1",
             "ppm", f"{sigma:g}", "Final", "", "", s.label]
    for e in ELEMENTS:
        v = s.ppm[e]
        cells += ["< LOD" if v is None else f"{v:g}", f"{s.error_1s[e] * sigma:g}"]
    return ",".join(cells) + "\r\n"


def encode_file(flavor: str, samples: list[XrfSample]) -> bytes:
    if flavor == "vanta":
        return (vanta_header() + "".join(vanta_row(s) for s in samples)).encode()
    return (niton_header() + "".join(niton_row(s) for s in samples)).encode()


def export_file(path: Path, data: bytes, half_written_s: float = 0.0) -> None:
    """Write an export; with ``half_written_s`` the file stays cut mid-row that long first."""
    if half_written_s > 0:
        cut = len(data) - max(5, len(data) // 7)
        path.write_bytes(data[:cut])
        time.sleep(half_written_s)
    path.write_bytes(data)


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
