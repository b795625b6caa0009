"""A pseudo-terminal standing in for a serial port: the agent opens the printed /dev/pts/N path with
``serial.serial_for_url`` exactly as it would open /dev/ttyUSB0."""

from __future__ import annotations

import os
import select
import termios
import tty


class PtyPort:
    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave, termios.TCSANOW)  # no echo, no CR/LF translation: bytes pass unchanged
        tty.setraw(self.master, termios.TCSANOW)
        self.path = os.ttyname(self.slave)

    def read(self, timeout: float) -> bytes:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return b""
        try:
            return os.read(self.master, 4096)
        except OSError:  # no reader attached at the moment
            return b""

    def write(self, data: bytes) -> None:
        try:
            os.write(self.master, data)
        except OSError:
            pass

    def close(self) -> None:
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass
