"""The driver registry: one key, one name everywhere. Adding a driver is one line here plus its four pieces,
all named by the key (checked by ``tests/devices/test_driver_completeness.py``): the module
``edge_agent/drivers/<key>.py`` with its config class ``<Key>Config`` (``and_ad`` -> ``AndAdConfig``), a
simulator module ``simulators/.../<key>.py``, ``firmware_configs/devices/<key>.example.yaml`` and golden
cases ``tests/golden/<key>/<case>/``.

What a driver can do is declared on its ``DriverSpec`` (``weighs``, ``resumable``, ``requires``), never found
out with ``hasattr`` on a config or runner.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge_agent.drivers import (
    and_ad,
    camera,
    esphome_mqtt,
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
    simulator: str  # module under simulators/ that speaks the same protocol; its last name is the key
    category: str  # scale, xrf, nir, camera, plc
    weighs: bool = False  # weight frames go through the weighing detector (config has division_kg, stable_frames)
    resumable: bool = False  # the runner takes back a source position (``runner.checkpoint``) after a restart
    requires: tuple[str, ...] = ()  # modules the runner imports, checked at agent start
    extra: str = "agent"  # the pip extra of junkan that installs ``requires``
    # Reports by exception (a value only when it changes, e.g. ESPHome's settled weight, Sparkplug B): silence is
    # normal, so a gap is only what the source says (offline, sequence gap), never a quiet minute.
    by_exception: bool = False


_SERIAL = ("serial",)
_VISION = ("cv2", "onnxruntime", "zxingcpp")

DRIVERS: dict[str, DriverSpec] = {
    "mt_sics": DriverSpec("mt_sics", mt_sics.MtSicsConfig, mt_sics.runner, mt_sics.decoder,
                          "simulators.scales.mt_sics", "scale", weighs=True, requires=_SERIAL),
    "camera": DriverSpec("camera", camera.CameraConfig, camera.runner, camera.decoder,
                         "simulators.camera", "camera", requires=_VISION, extra="vision"),
    "nir_spectrometer": DriverSpec("nir_spectrometer", nir_spectrometer.NirSpectrometerConfig,
                                   nir_spectrometer.runner, nir_spectrometer.decoder,
                                   "simulators.nir_spectrometer", "nir", requires=(*_SERIAL, "cv2", "onnxruntime"),
                                   extra="vision"),
    "and_ad": DriverSpec("and_ad", and_ad.AndAdConfig, and_ad.runner, and_ad.decoder,
                         "simulators.scales.and_ad", "scale", weighs=True, requires=_SERIAL),
    "sartorius_sbi": DriverSpec("sartorius_sbi", sartorius_sbi.SartoriusSbiConfig, sartorius_sbi.runner,
                                sartorius_sbi.decoder, "simulators.scales.sartorius_sbi", "scale", weighs=True,
                                requires=_SERIAL),
    "ohaus": DriverSpec("ohaus", ohaus.OhausConfig, ohaus.runner, ohaus.decoder, "simulators.scales.ohaus", "scale",
                        weighs=True, requires=_SERIAL),
    "toledo_continuous": DriverSpec("toledo_continuous", toledo_continuous.ToledoContinuousConfig,
                                    toledo_continuous.runner, toledo_continuous.decoder,
                                    "simulators.scales.toledo_continuous", "scale", weighs=True, requires=_SERIAL),
    "vanta_csv": DriverSpec("vanta_csv", vanta_csv.VantaCsvConfig, vanta_csv.runner, vanta_csv.decoder,
                            "simulators.xrf.vanta_csv", "xrf", requires=_SERIAL),
    "niton_csv": DriverSpec("niton_csv", niton_csv.NitonCsvConfig, niton_csv.runner, niton_csv.decoder,
                            "simulators.xrf.niton_csv", "xrf", requires=_SERIAL),
    "nir_sorter_modbus": DriverSpec("nir_sorter_modbus", nir_sorter_modbus.NirSorterModbusConfig,
                                    nir_sorter_modbus.runner, nir_sorter_modbus.decoder,
                                    "simulators.nir_sorter_modbus", "nir", requires=("pymodbus",)),
    "nir_events_tcp": DriverSpec("nir_events_tcp", nir_events_tcp.NirEventsTcpConfig, nir_events_tcp.runner,
                                 nir_events_tcp.decoder, "simulators.nir_events_tcp", "nir", resumable=True,
                                 requires=_SERIAL),
    "opcua": DriverSpec("opcua", opcua.OpcUaConfig, opcua.runner, opcua.decoder, "simulators.opcua", "plc",
                        weighs=True, resumable=True, requires=("asyncua",)),
    "sparkplug_b": DriverSpec("sparkplug_b", sparkplug_b.SparkplugBConfig, sparkplug_b.runner, sparkplug_b.decoder,
                              "simulators.sparkplug_b", "scale", weighs=True, by_exception=True,
                              requires=("google.protobuf", "paho.mqtt")),
    "esphome_mqtt": DriverSpec("esphome_mqtt", esphome_mqtt.EsphomeMqttConfig, esphome_mqtt.runner,
                               esphome_mqtt.decoder, "simulators.esphome_mqtt", "scale", weighs=True,
                               by_exception=True, requires=("paho.mqtt",)),
}


def missing_requirements(devices: Iterable[Any]) -> list[str]:
    """One line per configured device whose driver cannot run here, naming the extra that installs it.

    Modules are looked up, not imported: on a Raspberry Pi importing onnxruntime for a camera that runs no
    detector would cost half a second and tens of MB for nothing (the runner imports what it uses)."""
    problems = []
    for device in devices:
        spec = DRIVERS[device.type]
        for module in spec.requires:
            try:
                found = importlib.util.find_spec(module) is not None
            except (ImportError, ValueError) as exc:  # a parent package missing, or a finder refusing it
                found, reason = False, str(exc)
            else:
                reason = f"No module named {module!r}"
            if not found:
                problems.append(f"device {device.name!r} ({spec.key}) needs the {spec.extra} extra ({reason}): "
                                f"pip install 'junkan[{spec.extra}]'")
                break
    return problems
