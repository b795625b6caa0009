"""The driver registry: one key, one module. Adding a driver is one line here plus its four pieces
(module, simulator, ``firmware_configs/devices/<key>.example.yaml``, ``tests/golden/<key>/``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge_agent.drivers import (
    and_ad,
    camera,
    mt_sics,
    nir_events_tcp,
    nir_sorter_modbus,
    nir_spectrometer,
    niton_csv,
    ohaus,
    opcua,
    sartorius_sbi,
    sparkplug_b,
    toledo_continuous,
    vanta_csv,
)
from edge_agent.drivers.base import Decoder, DeviceConfigBase, Runner


@dataclass(frozen=True)
class DriverSpec:
    key: str
    config: type[DeviceConfigBase]
    runner: Callable[[Any, Path | None], Runner]
    decoder: Callable[[Any], Decoder]
    simulator: str  # module under simulators/ that speaks the same protocol
    category: str  # scale, xrf, nir, camera, plc


DRIVERS: dict[str, DriverSpec] = {
    "mt_sics": DriverSpec("mt_sics", mt_sics.MtSicsConfig, mt_sics.runner, mt_sics.decoder,
                          "simulators.scales.mt_sics", "scale"),
    "camera": DriverSpec("camera", camera.CameraConfig, camera.runner, camera.decoder,
                         "simulators.camera", "camera"),
    "nir_spectrometer": DriverSpec("nir_spectrometer", nir_spectrometer.NirSpectrometerConfig,
                                   nir_spectrometer.runner, nir_spectrometer.decoder,
                                   "simulators.nir_spectrometer", "nir"),
    "and_ad": DriverSpec("and_ad", and_ad.AndConfig, and_ad.runner, and_ad.decoder,
                         "simulators.scales.and_ad", "scale"),
    "sartorius_sbi": DriverSpec("sartorius_sbi", sartorius_sbi.SbiConfig, sartorius_sbi.runner,
                                sartorius_sbi.decoder, "simulators.scales.sartorius_sbi", "scale"),
    "ohaus": DriverSpec("ohaus", ohaus.OhausConfig, ohaus.runner, ohaus.decoder, "simulators.scales.ohaus", "scale"),
    "toledo_continuous": DriverSpec("toledo_continuous", toledo_continuous.ToledoConfig, toledo_continuous.runner,
                                    toledo_continuous.decoder, "simulators.scales.toledo", "scale"),
    "vanta_csv": DriverSpec("vanta_csv", vanta_csv.VantaCsvConfig, vanta_csv.runner, vanta_csv.decoder,
                            "simulators.xrf", "xrf"),
    "niton_csv": DriverSpec("niton_csv", niton_csv.NitonCsvConfig, niton_csv.runner, niton_csv.decoder,
                            "simulators.xrf", "xrf"),
    "nir_sorter_modbus": DriverSpec("nir_sorter_modbus", nir_sorter_modbus.NirSorterConfig, nir_sorter_modbus.runner,
                                    nir_sorter_modbus.decoder, "simulators.nir_sorter", "nir"),
    "nir_events_tcp": DriverSpec("nir_events_tcp", nir_events_tcp.NirEventsConfig, nir_events_tcp.runner,
                                 nir_events_tcp.decoder, "simulators.nir_sorter_events", "nir"),
    "opcua": DriverSpec("opcua", opcua.OpcUaConfig, opcua.runner, opcua.decoder, "simulators.opcua", "plc"),
    "sparkplug_b": DriverSpec("sparkplug_b", sparkplug_b.SparkplugConfig, sparkplug_b.runner, sparkplug_b.decoder,
                              "simulators.sparkplug_b", "scale"),
}
