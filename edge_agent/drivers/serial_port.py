"""Runner for devices behind a serial line: real ports, PTYs, ``socket://`` and ``loop://`` alike.

The port is always opened with ``serial.serial_for_url`` so simulators and tests take the same code path
as hardware. Request/response protocols set a poll command; continuous ones leave it empty.

Device paths are opened ``exclusive=True`` (pyserial's flock): two readers of one port each get part of
the bytes, and the agent would decode half-frames into light lots. A port another process holds makes
the device ``unavailable`` with an alarm naming the holder (from /proc), retried with backoff; it is
never read shared. ``/dev/ttyUSB*``/``ttyACM*`` names follow enumeration order, so the agent warns about
them at start: ``/dev/serial/by-id/...`` names the adapter itself (docs/operations.md).
"""

from __future__ import annotations

import errno
import json
import re
import threading
import time
from pathlib import Path
from typing import Any, Literal

import serial
from pydantic import BaseModel, ConfigDict, Field

from edge_agent.clock import wall_now
from edge_agent.drivers.base import (
    Backoff,
    BadFrame,
    Decoder,
    DeviceCounters,
    DeviceReading,
    Emit,
    keep_connected,
    log,
)
from junkan.core.locks import describe, holders

READ_CHUNK = 65536
ENUMERATED = re.compile(r"^/dev/tty(USB|ACM)\d+$")  # names handed out in plug-in order


class SerialPortConfig(BaseModel):
    """How to reach the device. Defaults are the common 9600 8N1."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="Port path or pyserial URL: /dev/ttyUSB0, socket://10.0.0.5:4001, loop://")
    baudrate: int = Field(default=9600, description="Baud rate; ignored by socket:// and loop://.")
    bytesize: Literal[7, 8] = Field(default=8, description="Data bits.")
    parity: Literal["N", "E", "O"] = Field(default="N", description="Parity: N none, E even, O odd.")
    stopbits: Literal[1, 2] = Field(default=1, description="Stop bits.")
    read_timeout_s: float = Field(default=0.02, gt=0, description="Blocking read timeout of one read call.")
    no_data_timeout_s: float = Field(
        default=5.0, gt=0, description="No bytes for this long: count a timeout and reopen the port."
    )


class Capture:
    """Records raw received bytes with timestamps as JSON lines (the `spy://` idea) for later replay."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("a", encoding="utf-8")
        self._t0 = time.monotonic()

    def write(self, direction: str, data: bytes) -> None:
        rec = {"t": round(time.monotonic() - self._t0, 4), "dir": direction, "hex": data.hex()}
        self._file.write(json.dumps(rec) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


class SerialRunner:
    """Opens the port, polls if asked, feeds the decoder, emits readings, reconnects on any failure."""

    def __init__(
        self,
        port: SerialPortConfig,
        decoder_factory: Any,
        poll_command: bytes = b"",
        poll_interval_s: float = 0.2,
        capture_path: Path | None = None,
        handshake: Any = None,
    ) -> None:
        """``handshake(checkpoint) -> bytes`` is sent after every (re)connect, e.g. a resume request."""
        self.handshake = handshake
        self.checkpoint: dict[str, Any] | None = None  # last source position seen (resumed from the outbox)
        self.port_config = port
        self.decoder_factory = decoder_factory
        self.poll_command = poll_command
        self.poll_interval_s = poll_interval_s
        self.capture_path = capture_path
        self.counters = DeviceCounters()
        self._port: serial.SerialBase | None = None
        self._write_lock = threading.Lock()
        if ENUMERATED.match(port.url):
            log.warning("%s: a /dev/ttyUSB*/ttyACM* name goes to whichever adapter enumerates first; after a "
                        "re-plug or reboot it may be another device. Use its /dev/serial/by-id/... path",
                        port.url)

    def _open(self) -> serial.SerialBase:
        cfg = self.port_config
        return serial.serial_for_url(
            cfg.url,
            exclusive=True,  # flock: never share the port with another reader (ignored by socket://, loop://)
            baudrate=cfg.baudrate,
            bytesize=cfg.bytesize,
            parity=cfg.parity,
            stopbits=cfg.stopbits,
            timeout=cfg.read_timeout_s,
            write_timeout=1.0,
        )

    def send(self, command: bytes) -> None:
        """Send an operator/agent command (e.g. tare) between polls."""
        with self._write_lock:
            if self._port is not None:
                self._port.write(command)

    def run(self, emit: Emit, stop: threading.Event) -> None:
        capture = Capture(self.capture_path) if self.capture_path else None
        keep_connected(stop, self.counters, lambda backoff: self._session(emit, stop, capture, backoff),
                       (serial.SerialException, OSError), lambda exc: f"I/O on {self.port_config.url}: {exc}",
                       f"device loop on {self.port_config.url}", capture=capture)

    def _session(self, emit: Emit, stop: threading.Event, capture: Capture | None, backoff: Backoff) -> bool:
        """One open of the port, read until it fails; False when it could not be opened."""
        try:
            self._port = self._open()
        except (serial.SerialException, OSError, ValueError) as exc:
            if held_elsewhere(exc):
                found = holders(self.port_config.url)
                self.counters.held_elsewhere(f"{self.port_config.url} is held by {describe(found)}: "
                                             "not reading it shared; retrying")
            else:
                self.counters.alarm = None
                self.counters.fail(f"open {self.port_config.url}: {exc}")
            return False
        if self.counters.alarm is not None:
            log.info("%s: got the port", self.port_config.url)
        self.counters.alarm = None
        self.counters.connected = True
        try:
            self._read_loop(self._port, emit, stop, capture, backoff)
        finally:
            self._close()
        return True

    def _read_loop(
        self,
        port: serial.SerialBase,
        emit: Emit,
        stop: threading.Event,
        capture: Capture | None,
        backoff: Backoff,
    ) -> None:
        decoder: Decoder = self.decoder_factory()
        if self.handshake is not None:
            with self._write_lock:
                port.write(self.handshake(self.checkpoint))
        last_bytes = time.monotonic()
        next_poll = 0.0
        if self.poll_command:  # request/response: drop stale replies; never discard a stream's data
            port.reset_input_buffer()
        while not stop.is_set():
            now = time.monotonic()
            if self.poll_command and now >= next_poll:
                with self._write_lock:
                    port.write(self.poll_command)
                next_poll = now + self.poll_interval_s
            # Read big: returns what arrived within the read timeout. (pyserial's socket:// reports
            # in_waiting as 0/1, so sizing reads by it meant one byte per call: ~500 events/s.)
            chunk = port.read(READ_CHUNK)
            if chunk:
                last_bytes = now
                if capture:
                    capture.write("rx", chunk)
                self._deliver(decoder.feed(chunk), emit, backoff)
            elif now - last_bytes > self.port_config.no_data_timeout_s:
                raise serial.SerialException(f"no data for {self.port_config.no_data_timeout_s:.1f} s")

    def _deliver(self, results: list[DeviceReading | BadFrame], emit: Emit, backoff: Backoff) -> None:
        for item in results:
            if isinstance(item, BadFrame):
                self.counters.frames_bad += 1
                self.counters.last_error = item.reason
                log.debug("bad frame on %s: %s %r", self.port_config.url, item.reason, item.raw[:64])
                continue
            if item.status == "error":  # a device's error answer: a reading for the lot, a bad frame for the status
                self.counters.frames_bad += 1
                self.counters.last_error = str(item.data.get("reason", "device error"))
            else:
                self.counters.frames_ok += 1
                self.counters.last_reading_at = wall_now()
            if item.checkpoint is not None:
                self.checkpoint = item.checkpoint
            backoff.reset()
            emit(item)

    def _close(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except Exception:
                pass


def held_elsewhere(exc: BaseException) -> bool:
    """pyserial's exclusive open failed because another process holds the port's flock."""
    return isinstance(exc, serial.SerialException) and (
        getattr(exc, "errno", None) in (errno.EWOULDBLOCK, errno.EAGAIN) or "exclusively lock" in str(exc))
