"""Evident (Olympus) Vanta handheld XRF: result CSV exports from a watched folder, or the same lines as
a serial/TCP stream. Errors in a Vanta export are 1 sigma (``<El> Error 1s``). Parsing: ``xrf_csv``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from edge_agent.drivers.base import Runner
from edge_agent.drivers.xrf_csv import XrfConfigBase, XrfCsvDecoder, vendor_decoder, xrf_runner


class VantaCsvConfig(XrfConfigBase):
    """A Vanta analyser's result export."""

    type: Literal["vanta_csv"] = Field(description="Driver key.")


def decoder(config: VantaCsvConfig | None = None) -> XrfCsvDecoder:
    return vendor_decoder("vanta", config, VantaCsvConfig)


def runner(config: VantaCsvConfig, capture_path: Path | None = None) -> Runner:
    return xrf_runner(config, lambda: decoder(config), capture_path)
