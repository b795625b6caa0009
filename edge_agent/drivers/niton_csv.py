"""Thermo Niton XL3t/XL5 handheld XRF: NDT/NDTr CSV exports from a watched folder, or the same lines on
the analyser's serial port. Each row's ``Sigma Value`` is the multiplier its ``<El> Error`` columns were
reported at (usually 2); ``< LOD`` results are kept as below-LOD, never 0. Parsing: ``xrf_csv``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from edge_agent.drivers.base import Runner
from edge_agent.drivers.xrf_csv import XrfConfigBase, XrfCsvDecoder, vendor_decoder, xrf_runner


class NitonCsvConfig(XrfConfigBase):
    """A Niton analyser's result export."""

    type: Literal["niton_csv"] = Field(description="Driver key.")
    default_sigma: float = Field(
        default=2.0, gt=0, description="Sigma multiplier for rows without a Sigma Value (Niton default 2)."
    )


def decoder(config: NitonCsvConfig | None = None) -> XrfCsvDecoder:
    return vendor_decoder("niton", config, NitonCsvConfig)


def runner(config: NitonCsvConfig, capture_path: Path | None = None) -> Runner:
    return xrf_runner(config, lambda: decoder(config), capture_path)
