"""Wall-clock steps and synchronisation, seen from the agent.

A Raspberry Pi has no RTC: it boots with the time it last saved (or 1970), then NTP steps the clock,
possibly by hours. Durations must not follow such a step (a +10 h step closed a 40 s lot as
``max_duration``; -3 h put a weighing 7 h before its lot opened), and an operator must see it happened.
``ClockWatch`` compares the wall clock with the monotonic clock: their difference is constant while time
only runs; a change beyond ``threshold_s`` is a step. ``sync_state`` asks the kernel (adjtimex) whether
NTP has the clock synchronised.

Every wall-time read of the agent goes through one source, ``wall_now``/``wall_time`` (a test checks no
other module of ``edge_agent`` reads ``time.time``/``datetime.now``), so a simulated plant can move the
agent's wall clock without touching the machine's: ``WallClock`` adds the seconds held in an offset file
(``simulation.clock_offset_file``, simulation only) to ``time.time()``. libfaketime cannot do this: it
breaks Python's sleeps.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger("junkan.agent.clock")


class WallClock:
    """``time.time()`` plus an offset a simulated plant sets (0 without ``offset_file``).

    The file holds one number, seconds to add; it is looked at no more often than every ``recheck_s``
    (monotonic) and re-read only when it changed (size, mtime, inode: the runner replaces it atomically),
    so a read costs a clock call, not a file read."""

    def __init__(self, offset_file: Path | None = None, recheck_s: float = 0.1) -> None:
        self.offset_file, self.recheck_s = offset_file, recheck_s
        self._state: tuple[float, tuple[int, int, int] | None, float] = (float("-inf"), None, 0.0)

    def offset(self) -> float:
        if self.offset_file is None:
            return 0.0
        due, sig, offset = self._state
        mono = time.monotonic()
        if mono < due:
            return offset
        try:
            st = os.stat(self.offset_file)
            new_sig = (st.st_ino, st.st_size, st.st_mtime_ns)
            if new_sig != sig:
                offset = float(self.offset_file.read_text(encoding="utf-8").strip() or 0.0)
                sig = new_sig
                log.warning("simulation: the agent's wall clock is offset by %+.1f s (%s)", offset,
                            self.offset_file)
        except (OSError, ValueError) as exc:  # half written or gone: keep the last offset
            log.warning("simulation: clock offset file %s unreadable (%s); keeping %+.1f s",
                        self.offset_file, exc, offset)
        self._state = (mono + self.recheck_s, sig, offset)  # one assignment: readers in other threads see
        return offset  # the old or the new state, never a mix

    def time(self) -> float:
        return time.time() + self.offset()

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), UTC)


_WALL = [WallClock()]  # the agent's one wall clock; ``use_wall_clock`` swaps it (run_agent, tests)


def use_wall_clock(clock: WallClock) -> WallClock:
    """Make ``clock`` the agent's wall clock; returns the previous one."""
    previous, _WALL[0] = _WALL[0], clock
    return previous


def wall_now() -> datetime:
    """The agent's wall time, aware (UTC): what every timestamp the agent writes is taken from."""
    return _WALL[0].now()


def wall_time() -> float:
    """The agent's wall time in seconds since the epoch (the outbox's ``created_at`` and ages)."""
    return _WALL[0].time()


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
