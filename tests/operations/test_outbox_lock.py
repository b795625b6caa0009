"""One agent per outbox: a second `junkan agent run` on an outbox a running agent holds stops at start
(it would reuse the first one's sequence numbers), naming the holder; the lock goes with the process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from junkan.core.locks import FileLock, held_by, lock_file_for

REPO = Path(__file__).resolve().parents[2]
HOLD = "import sys, time; from junkan.core.locks import FileLock; FileLock(sys.argv[1]).acquire(); " \
       "print('held', flush=True); sys.stdin.read()"


def test_second_agent_on_a_held_outbox_stops_at_start(tmp_path: Path, junkan: Any) -> None:
    config = yaml.safe_load((REPO / "firmware_configs/lines/demo_line.yaml").read_text(encoding="utf-8"))
    outbox = tmp_path / "outbox.db"
    config["outbox"]["path"] = str(outbox)
    path = tmp_path / "agent.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(lock_file_for(outbox))], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert held_by(lock_file_for(outbox)) == f"{lock_file_for(outbox)} is held by pid {holder.pid}"
        second = junkan("agent", "run", "--config", str(path))
        assert second.returncode == 2 and f"pid {holder.pid}" in second.stderr
        assert not outbox.exists()  # refused before touching the outbox
    finally:
        holder.kill()
        holder.wait(5)
    assert held_by(lock_file_for(outbox)) is None  # released by the kernel when the holder died (SIGKILL)
    FileLock(lock_file_for(outbox)).acquire().release()
