"""An NIR sorter's per-object event stream on TCP (encoder only): JSON lines, heartbeats when idle.

Objects are drawn from the same class mix as ``simulators.nir_sorter_modbus.SorterScenario``; the truth
(objects sent per class) is kept in ``sent``.
"""

from __future__ import annotations

import json
import random
import threading
import time
from datetime import UTC, datetime

from simulators.nir_sorter_modbus import SorterScenario
from simulators.scales.stream import BytePort


def encode_object(polymer: str, confidence: float, size_mm: float, ejected: bool, when: datetime) -> bytes:
    obj = {"t": when.isoformat().replace("+00:00", "Z"), "class": polymer, "confidence": round(confidence, 3),
           "size_mm": round(size_mm, 1), "area_mm2": round(0.6 * size_mm * size_mm, 1), "ejected": ejected}
    return (json.dumps(obj, separators=(",", ":")) + "\n").encode()


class ObjectStream:
    def __init__(self, scenario: SorterScenario, port: BytePort, heartbeat_s: float = 5.0) -> None:
        self.scenario, self.port, self.heartbeat_s = scenario, port, heartbeat_s
        self._rng = random.Random(scenario.seed)
        self.sent: dict[str, int] = dict.fromkeys(scenario.channels, 0)

    def serve(self, stop: threading.Event, count: int | None = None) -> None:
        last_beat = time.monotonic()
        n = 0
        while not stop.is_set() and (count is None or n < count):
            self.port.read(0)
            if self.scenario.running:
                polymer = self._rng.choices(self.scenario.channels, weights=self.scenario.mix)[0]
                self.port.write(encode_object(polymer, self._rng.uniform(0.6, 1.0), self._rng.uniform(10, 120),
                                              self._rng.random() < self.scenario.eject_share, datetime.now(UTC)))
                self.sent[polymer] += 1
                n += 1
            if time.monotonic() - last_beat >= self.heartbeat_s:
                self.port.write(b'{"heartbeat":true}\n')
                last_beat = time.monotonic()
            stop.wait(self._rng.expovariate(self.scenario.objects_per_s))
