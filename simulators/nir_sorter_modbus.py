"""An NIR sorter's PLC on Modbus TCP (pymodbus server), fed by a scenario with ground truth.

Speaks junkan's register map (documented in docs/devices.md; the simulator writes it from this
module's own constants, never from the agent's driver). The scenario draws objects per second from a
class mix at a rate, ejects a share of them, and keeps the true per-channel totals. ``outage(s)`` shuts
the server down and brings it back (fault tests); ``counter_offset`` is where the counters start at boot
(near 2^32 to exercise the wrap-around, near 2^31 for the reset defect); ``restart()`` is a PLC restart:
counters back to ``counter_offset``, the uptime register (seconds since boot, 32 bit at
``uptime_register``, high word first; None for a PLC without one) back to 0.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

MAP_VERSION, HEADER = 1, 10
ALARM_BITS = {"emergency_stop": 0, "air_pressure_low": 1, "sensor_dirty": 2, "ejector_fault": 3,
              "belt_blocked": 4, "lamp_failure": 5}


@dataclass
class SorterScenario:
    """Class mix (share per channel), objects per second, ejection share; truth in ``totals``."""

    channels: list[str] = field(default_factory=lambda: ["PET", "PE", "PP", "PS"])
    mix: list[float] = field(default_factory=lambda: [0.35, 0.25, 0.3, 0.1])
    objects_per_s: float = 50.0
    eject_share: float = 0.9
    belt_speed_m_s: float = 2.5
    seed: int = 1
    counter_offset: int = 0
    uptime_register: int | None = 6
    uptime_s: float = 0.0
    running: bool = True
    alarms: set[str] = field(default_factory=set)
    totals: dict[str, int] = field(default_factory=dict)
    ejected: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self.totals = dict.fromkeys(self.channels, 0)
        self.ejected = dict.fromkeys(self.channels, 0)
        self._boot: tuple[dict[str, int], dict[str, int]] = (dict(self.totals), dict(self.ejected))
        self.restarts: list[tuple[dict[str, int], dict[str, int]]] = []  # truth at each restart

    def restart(self, counter_start: int | None = None) -> None:
        """The PLC reboots: its counters start again at ``counter_offset`` (or ``counter_start`` from now
        on), its uptime at 0."""
        if counter_start is not None:
            self.counter_offset = counter_start
        self.restarts.append((dict(self.totals), dict(self.ejected)))
        self._boot = (dict(self.totals), dict(self.ejected))
        self.uptime_s = 0.0

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass: the uptime grows, objects are sorted only while running."""
        self.uptime_s += seconds
        if not self.running:
            return
        n = int(self._rng.gauss(self.objects_per_s * seconds, (self.objects_per_s * seconds) ** 0.5) + 0.5)
        for _ in range(max(0, n)):
            c = self._rng.choices(self.channels, weights=self.mix)[0]
            self.totals[c] += 1
            if self._rng.random() < self.eject_share:
                self.ejected[c] += 1

    def registers(self) -> list[int]:
        bits = sum(1 << ALARM_BITS[a] for a in self.alarms if a in ALARM_BITS)
        regs = [MAP_VERSION, 1 if self.running else 0, round(self.belt_speed_m_s * 1000) if self.running else 0,
                bits, len(self.channels), 0, 0, 0, 0, 0]
        if self.uptime_register is not None:
            up = int(self.uptime_s) % (1 << 32)
            regs[self.uptime_register : self.uptime_register + 2] = [up >> 16, up & 0xFFFF]
        for c in self.channels:
            for counter, boot in ((self.totals[c], self._boot[0][c]), (self.ejected[c], self._boot[1][c])):
                value = (counter - boot + self.counter_offset) % (1 << 32)
                regs += [value >> 16, value & 0xFFFF]
        return regs


class SorterPlc:
    """The pymodbus TCP server in its own thread and event loop; registers refreshed every ``tick_s``."""

    def __init__(self, scenario: SorterScenario, port: int, tick_s: float = 0.1, host: str = "127.0.0.1") -> None:
        self.scenario, self.port, self.tick_s, self.host = scenario, port, tick_s, host
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._stopped_at: float | None = None
        self.lock = threading.Lock()
        logging.getLogger("pymodbus").setLevel(logging.CRITICAL)

    def start(self) -> SorterPlc:
        if self._stopped_at is not None:  # off the network, not powered off: the PLC's uptime went on
            with self.lock:
                self.scenario.uptime_s += time.monotonic() - self._stopped_at
            self._stopped_at = None
        self._stop.clear()
        self._ready.clear()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True, name="sorter-plc")
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("sorter PLC simulator did not start")
        return self

    async def _main(self) -> None:
        from pymodbus.server import ModbusTcpServer
        from pymodbus.simulator import DataType, SimData, SimDevice

        size = HEADER + 4 * len(self.scenario.channels)
        device = SimDevice(id=1, simdata=[SimData(0, values=[0] * size, datatype=DataType.REGISTERS)])
        server = ModbusTcpServer(device, address=(self.host, self.port))
        self._server, self._loop = server, asyncio.get_running_loop()
        serving = asyncio.create_task(server.serve_forever())
        last = time.monotonic()
        await server.async_setValues(1, 16, 0, self.scenario.registers())
        self._ready.set()
        while not self._stop.is_set() and not serving.done():
            await asyncio.sleep(self.tick_s)
            now = time.monotonic()
            with self.lock:
                self.scenario.advance(now - last)
                regs = self.scenario.registers()
            last = now
            await server.async_setValues(1, 16, 0, regs)
        await server.shutdown()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)
        self._stopped_at = time.monotonic()

    def outage(self, seconds: float) -> None:
        """The PLC/gateway drops off the network for a while; the belt keeps sorting meanwhile."""
        self.stop()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(min(self.tick_s, max(0.0, deadline - time.monotonic())))
            with self.lock:
                self.scenario.advance(self.tick_s)  # the uptime included
        self._stopped_at = None
        self.start()

    def restart(self, counter_start: int | None = None) -> None:
        """A PLC restart while serving (counters and uptime start again)."""
        with self.lock:
            self.scenario.restart(counter_start)
