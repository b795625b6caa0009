"""A scale indicator in continuous (stream) output mode: one encoded frame every ``interval_s``.

Protocol modules supply ``encode(reading, division_kg) -> bytes``; this loop adds optional line noise
(garbage bytes, cut frames, flipped bits) for fault tests. Encoders never import the agent's parsers.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Protocol

from simulators.scales.platform import PlatformScale, ScaleReading

Encoder = Callable[[ScaleReading, float], bytes]


class BytePort(Protocol):
    def read(self, timeout: float) -> bytes: ...
    def write(self, data: bytes) -> None: ...


def decimals_for(division_kg: float) -> int:
    """Digits after the point the display shows for this division (0.02 -> 2, 0.5 -> 1, 1 -> 0)."""
    return max(0, len(f"{division_kg:g}".partition(".")[2]))


class StreamingScale:
    def __init__(self, scale: PlatformScale, port: BytePort, encode: Encoder, interval_s: float = 0.1,
                 noise_rate: float = 0.0, seed: int = 1) -> None:
        self.scale, self.port, self.encode = scale, port, encode
        self.interval_s, self.noise_rate = interval_s, noise_rate
        self._rng = random.Random(seed)
        self.frames_sent = 0

    def frame(self) -> bytes:
        """The next frame as sent, noise included."""
        data = self.encode(self.scale.reading(), self.scale.division_kg)
        if self.noise_rate and self._rng.random() < self.noise_rate:
            kind = self._rng.choice(["garbage", "cut", "flip"])
            if kind == "garbage":
                data = bytes(self._rng.randrange(128, 256) for _ in range(6)) + b"\r\n" + data
            elif kind == "cut":
                data = data[: len(data) // 2] + b"\r\n"
            else:
                i = self._rng.randrange(len(data))
                data = data[:i] + bytes([data[i] ^ (1 << self._rng.randrange(7))]) + data[i + 1 :]
        return data

    def serve(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.port.write(self.frame())
            self.frames_sent += 1
            self.port.read(0)  # drain anything the agent sends (stream mode ignores commands)
            stop.wait(self.interval_s)
