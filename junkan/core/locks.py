"""Exclusive use of files: an flock'ed lock file, and which processes hold a file open (``/proc/*/fd``).

A running agent holds ``<outbox>.lock`` so a second agent or a restore cannot use its outbox; flock, so
the kernel releases it however the agent dies (SIGKILL included). ``holders`` names who has a file open
when a serial port is locked by someone else (the alarm names them) and before a restore overwrites a
database (a live gateway or agent on it would be corrupted). Processes of other users are invisible
without privileges, so an empty answer means "none found", not "none".
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Holder:
    pid: int
    name: str  # the command name (/proc/PID/comm)
    cmdline: str

    def __str__(self) -> str:
        me = " (this process)" if self.pid == os.getpid() else ""
        return f"pid {self.pid} ({self.cmdline or self.name}){me}"


def holders(path: str | Path, proc: Path = Path("/proc"), exclude_self: bool = False) -> list[Holder]:
    """Processes with ``path`` open (symlinks such as /dev/serial/by-id/... resolved), by pid."""
    try:
        target = os.path.realpath(path)
    except OSError:
        return []
    found = []
    for entry in proc.glob("[0-9]*"):
        pid = int(entry.name)
        if exclude_self and pid == os.getpid():
            continue
        try:
            fds = list((entry / "fd").iterdir())
        except OSError:  # gone, or not ours to look at
            continue
        for fd in fds:
            try:
                if os.readlink(fd) == target:
                    found.append(_describe(entry, pid))
                    break
            except OSError:
                continue
    return sorted(found, key=lambda h: h.pid)


def _describe(entry: Path, pid: int) -> Holder:
    try:
        name = (entry / "comm").read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        name = "?"
    try:
        raw = (entry / "cmdline").read_bytes()
        cmdline = " ".join(raw.decode(errors="replace").split("\x00")).strip()[:160]
    except OSError:
        cmdline = ""
    return Holder(pid, name, cmdline)


def describe(found: list[Holder]) -> str:
    return ", ".join(str(h) for h in found) if found else "a process that could not be identified"


class Busy(Exception):
    """Another process holds the lock."""


def lock_file_for(path: str | Path) -> Path:
    """The lock file guarding ``path`` (``<path>.lock``)."""
    return Path(f"{path}.lock")


class FileLock:
    """An exclusive, non-blocking flock on a lock file; the holder's pid is written into it."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def acquire(self) -> FileLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip()
            os.close(fd)
            raise Busy(f"{self.path} is held by {holder or 'another process'}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def held_by(lock_path: str | Path) -> str | None:
    """Who holds the lock file (its message), or None when nobody does (or it does not exist)."""
    if not Path(lock_path).exists():
        return None
    try:
        lock = FileLock(lock_path).acquire()
    except Busy as exc:
        return str(exc)
    lock.release()
    return None
