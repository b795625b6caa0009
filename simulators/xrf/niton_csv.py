"""Thermo Niton NDT result CSV (encoder only; the facts are in edge_agent/drivers/niton_csv.py):
``<El>`` / ``<El> Error`` pairs, errors at the row's ``Sigma Value`` multiplier, ``< LOD`` for non-detects."""

from __future__ import annotations

import time

from simulators.xrf.samples import ELEMENTS, XrfSample


def niton_header() -> str:
    cols = ["Index", "Reading No", "Time", "Type", "Duration", "Units", "Sigma Value", "Sequence", "User1",
            "Flags", "SAMPLE"]
    for e in ELEMENTS:
        cols += [e, f"{e} Error"]
    return ",".join(cols) + "\r\n"


def niton_row(s: XrfSample, sigma: float = 2.0, when: time.struct_time | None = None) -> str:
    when = when or time.gmtime()
    cells = [str(s.reading_no), str(s.reading_no), time.strftime("%d/%m/%Y %H:%M:%S", when), "PLASTICS", "30.1",
             "ppm", f"{sigma:g}", "Final", "", "", s.label]
    for e in ELEMENTS:
        v = s.ppm[e]
        cells += ["< LOD" if v is None else f"{v:g}", f"{s.error_1s[e] * sigma:g}"]
    return ",".join(cells) + "\r\n"


def encode_file(samples: list[XrfSample], sigma: float = 2.0) -> bytes:
    return (niton_header() + "".join(niton_row(s, sigma) for s in samples)).encode()
