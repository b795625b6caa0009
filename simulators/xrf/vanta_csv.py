"""Evident Vanta result CSV (encoder only; the facts are in edge_agent/drivers/vanta_csv.py and
docs/devices.md): ``sep=,``, a header naming ``<El> Concentration`` / ``<El> Error 1s``, one row per reading."""

from __future__ import annotations

import time

from simulators.xrf.samples import ELEMENTS, SERIAL, XrfSample


def vanta_header() -> str:
    fixed = ("Instrument Serial Num,Reading #,Date,Time,Method Name,User Factor Name,Test Label,"
             "Collimation Status,Latitude,Longitude, Units")
    per = [f"{e} Compound,{e} Compound Level,{e} Compound Error,{e} Concentration,{e} Error 1s" for e in ELEMENTS]
    return "sep=,\r\n" + ",".join([fixed, *per, "info"]) + ",\r\n"


def vanta_row(s: XrfSample, when: time.struct_time | None = None, percent: bool = False,
              zero_nondetects: bool = False) -> str:
    """One result row. ``zero_nondetects``: a non-detect printed as ``0`` with its error, as real Vanta
    exports do (else ``<LOD``)."""
    when = when or time.gmtime()
    unit = "%" if percent else "ppm"
    cells = [SERIAL, str(s.reading_no), time.strftime("%Y-%m-%d", when), time.strftime("%H:%M:%S", when),
             "GeoChem", "", s.label, "No", "", "", unit]
    for e in ELEMENTS:
        v = s.ppm[e]
        scale = 1e-4 if percent else 1.0
        value = ("0" if zero_nondetects else "<LOD") if v is None else f"{v * scale:g}"
        cells += ["", "", "", value, f"{s.error_1s[e] * scale:g}"]
    return ",".join([*cells, s.label]) + ",\r\n"


def encode_file(samples: list[XrfSample], zero_nondetects: bool = False) -> bytes:
    return (vanta_header() + "".join(vanta_row(s, zero_nondetects=zero_nondetects) for s in samples)).encode()
