"""XRF non-detects are censored at the instrument's LOD, never measured zeros, all the way to the lot's
verdict (issue 15): a Vanta export prints a non-detect as ``0`` with its error (``Cd 0, ±265``); read as
0 ppm the lot passed the 100 ppm Cd limit with ``p_above 0.0`` though 3 sigma is ~800 ppm."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from edge_agent.drivers import DRIVERS
from edge_agent.drivers.base import DeviceReading
from junkan.core.measurement import add_reading, contaminants, new_evidence
from junkan.core.measurement_model import MeasurementParams
from simulators.xrf.samples import XrfSample, random_sample
from simulators.xrf.vanta_csv import encode_file

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def _decode(data: bytes) -> list[DeviceReading]:
    return [r for r in DRIVERS["vanta_csv"].decoder(None).feed(data) if isinstance(r, DeviceReading)]


def test_zero_with_an_error_is_censored_at_three_sigma() -> None:
    sample = XrfSample(7, {"Cr": None, "Br": 2500.0, "Cd": None, "Hg": None, "Pb": 40.0, "Sb": None},
                       {"Cr": 5.0, "Br": 50.0, "Cd": 265.0, "Hg": 2.0, "Pb": 4.0, "Sb": 4.0}, label="tv-7")
    (reading,) = _decode(encode_file([sample], zero_nondetects=True))
    cd = reading.data["elements"]["Cd"]
    assert cd == {"ppm": None, "error": 265.0, "sigma": 1.0, "below_lod": True, "lod_ppm": 795.0, "reported": "0"}
    assert reading.data["elements"]["Br"]["below_lod"] is False
    assert reading.data["test_label"] == "tv-7" and reading.ts is not None  # the analyser's own clock
    assert reading.data["instrument_time"] == reading.ts.isoformat()


def test_censored_cd_above_the_limit_cannot_give_a_below_verdict() -> None:
    """20 parts, Cd never detected, each printed 0 ±265: the data cannot say the lot is below 100 ppm."""
    rng = random.Random(3)
    samples = []
    for i in range(20):
        s = random_sample(rng, i + 1)
        samples.append(XrfSample(s.reading_no, {**s.ppm, "Cd": None}, {**s.error_1s, "Cd": 265.0}, s.label))
    ev = new_evidence()
    for i, reading in enumerate(_decode(encode_file(samples, zero_nondetects=True))):
        add_reading(ev, "xrf", "xrf", T0 + timedelta(seconds=30 * i), reading.data)
    cd = contaminants(ev, MeasurementParams())["Cd"]
    verdict = cd.thresholds["100"]
    assert cd.n == 20 and cd.n_below_lod == 20 and cd.lod_ppm == 795.0
    assert verdict.status == "indeterminate", verdict  # neither below nor above: re-test with a longer shot
    assert verdict.p_above == 0.5  # undecided, not the 0.0 a measured zero gave, nor 1.0 from LOD/2


def test_detected_values_still_decide() -> None:
    """Censoring changes nothing when the detects are clear of the limit and the LODs are below it."""
    ev = new_evidence()
    for i in range(20):
        cd = {"ppm": 8.0 + i % 3, "error": 2.0, "sigma": 1.0, "below_lod": False} if i % 2 else \
            {"ppm": None, "error": 2.0, "sigma": 1.0, "below_lod": True, "lod_ppm": 6.0}
        add_reading(ev, "xrf", "xrf", T0 + timedelta(seconds=i), {"elements": {"Cd": cd}})
    assert contaminants(ev, MeasurementParams())["Cd"].thresholds["100"].status == "below"
