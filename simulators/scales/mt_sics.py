"""An MT-SICS balance/indicator on a PTY (or any byte pipe), answering like the real thing.

Encodes only: it never imports the agent's MT-SICS parser, so each catches the other's mistakes.
Replies to S/SI/SIR start with ``S`` (``S S``, ``S D``, ``S I``, ``S +``, ``S -``), net of the tare
(``T`` tares, ``TA`` tells the tare, ``TAC`` clears it); unknown commands get ``ES``. ``noise_rate``
injects line noise (garbage bytes, ``ET``, cut lines) for tests.
"""

from __future__ import annotations

import random
import threading
import time
from typing import Protocol

from simulators.scales.platform import PlatformScale

SERIAL = "B021002593"


class BytePort(Protocol):
    def read(self, timeout: float) -> bytes: ...
    def write(self, data: bytes) -> None: ...


def encode_weight(scale: PlatformScale, stable_only: bool = False) -> bytes:
    r = scale.reading()
    if r.status == "overload":
        return b"S +\r\n"
    if r.status == "underload":
        return b"S -\r\n"
    if stable_only and not r.stable:
        return b"S I\r\n"
    decimals = max(0, len(f"{scale.division_kg:g}".partition(".")[2]))
    letter = "S" if r.stable else "D"
    return f"S {letter} {r.value_kg:>10.{decimals}f} kg\r\n".encode()


class MtSicsDevice:
    def __init__(self, scale: PlatformScale, port: BytePort, noise_rate: float = 0.0, seed: int = 1) -> None:
        self.scale, self.port = scale, port
        self.unplugged = threading.Event()  # set: the serial link is gone (scenario fault scale_unplug)
        self.noise_rate = noise_rate
        self._rng = random.Random(seed)
        self._buf = b""
        self._repeat = False

    def serve(self, stop: threading.Event) -> None:
        self.port.write(f'I4 A "{SERIAL}"\r\n'.encode())  # unsolicited after power-up, like the real one
        next_repeat = 0.0
        while not stop.is_set():
            chunk = self.port.read(0.02)
            if self.unplugged.is_set():  # the cable is out: nothing heard, nothing said
                self._buf = b""
                continue
            if chunk:
                self._buf += chunk
                while b"\n" in self._buf:
                    line, _, self._buf = self._buf.partition(b"\n")
                    self._answer(line.strip().decode("ascii", "replace"))
            if self._repeat and time.monotonic() >= next_repeat:
                self._send(encode_weight(self.scale))
                next_repeat = time.monotonic() + 0.1

    def _send(self, reply: bytes) -> None:
        if self.noise_rate and self._rng.random() < self.noise_rate:
            kind = self._rng.choice(["garbage", "ET", "cut"])
            if kind == "garbage":
                reply = bytes(self._rng.randrange(128, 256) for _ in range(6)) + b"\r\n" + reply
            elif kind == "ET":
                reply = b"ET\r\n"
            else:
                reply = reply[: len(reply) // 2] + b"\r\n"
        self.port.write(reply)

    def _answer(self, command: str) -> None:
        if not command:
            return
        self._repeat = False
        name = command.split()[0].upper()
        if name == "SI":
            self._send(encode_weight(self.scale))
        elif name == "S":
            self._send(encode_weight(self.scale, stable_only=True))
        elif name == "SIR":
            self._repeat = True
        elif name == "Z":
            self._send(b"Z A\r\n" if self.scale.zero() else b"Z I\r\n")
        elif name == "T":
            tare = self.scale.tare()
            self._send(f"T S {tare:>10.2f} kg\r\n".encode() if tare is not None else b"T I\r\n")
        elif name == "TA" and len(command.split()) == 1:
            self._send(f"TA A {self.scale.tare_kg:>10.2f} kg\r\n".encode())
        elif name == "TAC":
            self.scale.clear_tare()
            self._send(b"TAC A\r\n")
        elif name in ("@", "I4"):
            self._send(f'I4 A "{SERIAL}"\r\n'.encode())
        else:
            self._send(b"ES\r\n")
