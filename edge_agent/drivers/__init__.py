"""The driver registry: one key, one module. Adding a driver is one line here plus its four pieces
(module, simulator, ``firmware_configs/devices/<key>.example.yaml``, ``tests/golden/<key>/``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge_agent.drivers import camera, mt_sics
from edge_agent.drivers.base import Decoder, DeviceConfigBase, Runner


@dataclass(frozen=True)
class DriverSpec:
    key: str
    config: type[DeviceConfigBase]
    runner: Callable[[Any, Path | None], Runner]
    decoder: Callable[[Any], Decoder]
    simulator: str  # module under simulators/ that speaks the same protocol
    category: str  # scale, xrf, nir, camera


DRIVERS: dict[str, DriverSpec] = {
    "mt_sics": DriverSpec("mt_sics", mt_sics.MtSicsConfig, mt_sics.runner, mt_sics.decoder,
                          "simulators.scales.mt_sics", "scale"),
    "camera": DriverSpec("camera", camera.CameraConfig, camera.runner, camera.decoder,
                         "simulators.camera", "camera"),
}
