"""Issue 15.6: two agents on one config fought over the client id every 200 ms and stored 9 seq numbers
twice. The second agent must exit at once with one line naming the holder; a killed holder frees it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from junkan.core.locks import Busy, FileLock, held_by, lock_file_for
from junkan.core.net import free_port

REPO = Path(__file__).resolve().parents[2]


def _agent(tmp_path: Path) -> subprocess.Popen[str]:
    args = [sys.executable, "-m", "junkan.cli", "agent", "run", "--config",
            str(REPO / "firmware_configs/lines/demo_line.yaml"),
            "--set", f"outbox.path={tmp_path / 'outbox.db'}", "--set", f"mqtt.port={free_port()}",
            "--set", "devices.0.port.url=loop://"]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                            env={**os.environ, "PYTHONPATH": str(REPO)})


def test_second_agent_on_the_same_outbox_exits_with_one_line(tmp_path: Path) -> None:
    first = _agent(tmp_path)
    try:
        lock = lock_file_for(tmp_path / "outbox.db")
        deadline = time.monotonic() + 20
        while held_by(lock) is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert held_by(lock) is not None
        second = _agent(tmp_path)
        _, err = second.communicate(timeout=20)
        assert second.returncode == 2
        lines = [ln for ln in err.splitlines() if "held by" in ln]
        assert len(lines) == 1 and f"pid {first.pid}" in lines[0], err
        assert first.poll() is None  # the first one keeps running
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    FileLock(lock_file_for(tmp_path / "outbox.db")).acquire().release()  # SIGKILL freed it


def test_lock_in_process_refuses_a_second_holder(tmp_path: Path) -> None:
    held = FileLock(lock_file_for(tmp_path / "o.db")).acquire()
    try:
        try:
            FileLock(lock_file_for(tmp_path / "o.db")).acquire()
        except Busy as exc:
            assert str(os.getpid()) in str(exc)
        else:
            raise AssertionError("a second lock on the same outbox was granted")
    finally:
        held.release()
