"""Wall-clock steps and synchronisation, seen from the agent.

A Raspberry Pi has no RTC: it boots with the time it last saved (or 1970), then NTP steps the clock,
possibly by hours. Durations must not follow such a step (a +10 h step closed a 40 s lot as
``max_duration``; -3 h put a weighing 7 h before its lot opened), and an operator must see it happened.
``ClockWatch`` compares the wall clock with the monotonic clock: their difference is constant while time
only runs; a change beyond ``threshold_s`` is a step. ``sync_state`` asks the kernel (adjtimex) whether
NTP has the clock synchronised.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from dataclasses import dataclass
from datetime import datetime


@dataclass
class ClockWatch:
    threshold_s: float = 2.0
    _offset: float | None = None

    def observe(self, wall: datetime, mono: float) -> float | None:
        """Feed one (wall, monotonic) pair; returns the step in seconds when the wall clock jumped."""
        offset = wall.timestamp() - mono
        if self._offset is None:
            self._offset = offset
            return None
        step = offset - self._offset
        if abs(step) <= self.threshold_s:
            return None
        self._offset = offset
        return step


class _Timex(ctypes.Structure):
    # struct timex (linux/timex.h): the fields before the padding are all this needs.
    _fields_ = [("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
                ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
                ("constant", ctypes.c_long), ("precision", ctypes.c_long), ("tolerance", ctypes.c_long),
                ("time_sec", ctypes.c_long), ("time_usec", ctypes.c_long), ("tick", ctypes.c_long),
                ("ppsfreq", ctypes.c_long), ("jitter", ctypes.c_long), ("shift", ctypes.c_int),
                ("stabil", ctypes.c_long), ("jitcnt", ctypes.c_long), ("calcnt", ctypes.c_long),
                ("errcnt", ctypes.c_long), ("stbcnt", ctypes.c_long), ("tai", ctypes.c_int),
                ("_pad", ctypes.c_int * 11)]


_TIME_ERROR = 5  # adjtimex() return value: clock not synchronised
_STA_UNSYNC = 0x0040


def sync_state() -> dict[str, object]:
    """``{"synchronised": bool | None, "max_error_us": int | None, "source": "adjtimex"}`` (None: unknown)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        tx = _Timex()
        rc = libc.adjtimex(ctypes.byref(tx))
    except (OSError, AttributeError):
        return {"synchronised": None, "max_error_us": None, "source": "unavailable"}
    if rc < 0:
        return {"synchronised": None, "max_error_us": None, "source": "adjtimex"}
    synced = rc != _TIME_ERROR and not (tx.status & _STA_UNSYNC)
    return {"synchronised": bool(synced), "max_error_us": int(tx.maxerror), "source": "adjtimex"}
