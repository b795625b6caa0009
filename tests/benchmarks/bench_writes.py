"""P7_write: bytes the agent writes to disk per outbox message at 1 message/s (SD-card wear, issue 15.7).

A child process runs the real agent core on a real outbox: one NIR/XRF reading per second into an open
lot, each message acked as the publisher would. ``write_bytes`` of ``/proc/self/io`` (bytes the process
caused to be sent to storage) over the run, divided by the messages. Baseline, same run: the same agent
with release 0.1's write settings (4 KiB pages, one delete per ack, the open lot rewritten with every
message). The floor: one fsync'd append dirties a whole 4 KiB page (4.3 KB measured for 100 bytes).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.benchmarks.common import Figure

REPO = Path(__file__).resolve().parents[2]

CHILD = r'''
import json, os, random, sys, time
from datetime import UTC, datetime
from pathlib import Path
from edge_agent.config import load_config
from edge_agent.core import AgentCore
from edge_agent.drivers.base import DeviceReading
from edge_agent.publishing.outbox import SqliteOutbox
from junkan.core.ids import new_id
from junkan.core.messages import CommandMessage
from junkan.core.topics import AgentTopics

work, n, rate, mode = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
legacy, commit_s = mode == "legacy", (float(mode.split("=")[1]) if mode.startswith("commit=") else 0.0)
repo = Path(sys.argv[5])

def written() -> int:
    for line in open("/proc/self/io"):
        if line.startswith("write_bytes"):
            return int(line.split()[1])
    raise RuntimeError("no write_bytes in /proc/self/io")

over = {"outbox.path": str(work / "o.db"), "outbox.lot_state_interval_s": 0 if legacy else 10,
        "outbox.commit_interval_s": commit_s}
config = load_config(repo / "firmware_configs/lines/demo_line.yaml", over)
outbox = SqliteOutbox(work / "o.db", page_size=4096 if legacy else 1024, delete_batch=1 if legacy else 64)
if commit_s:  # as edge_agent.app sets it up
    outbox.purge_with_writes, outbox.delete_interval_s = True, max(5.0, 3 * commit_s)
core = AgentCore(config, outbox, AgentTopics("s", "line-1", "a"), new_id())
core._handle("command", CommandMessage(cmd_id=new_id(), action="open_lot", line="line-1", lot_id="L1",
                                       issued_at=datetime.now(UTC)))
rng = random.Random(1)
def one(i: int) -> None:
    if i % 9:
        r = DeviceReading(kind="nir_object", data={"polymer": rng.choice(["PP", "PE", "ABS"]),
                                                   "size_mm": round(rng.uniform(5, 30), 1), "event_id": i})
        core._handle("reading", ("nir", r))
    else:
        r = DeviceReading(kind="xrf", data={"elements": {"Br": {"ppm": round(rng.uniform(0, 500)), "error": 20},
                                                        "Cd": {"ppm": 0, "error": 3, "below_lod": True}}})
        core._handle("reading", ("xrf", r))
    core._flush_readings(force=True)
    outbox.delete([m.msg_id for m in outbox.after(0, 100)])  # the gateway's ack (of what is committed)
for i in range(30):
    one(i)
os.sync()
before, t0 = written(), time.monotonic()
for i in range(n):
    one(1000 + i)
    time.sleep(max(0.0, t0 + (i + 1) / rate - time.monotonic()))
os.sync()
steady = written() - before  # every commit is fsync'd: what the run wrote, its checkpoints included
outbox.close()  # the last checkpoint and the WAL's removal: once per agent stop, reported apart
os.sync()
print(json.dumps({"bytes_per_message": steady / n, "close_bytes": written() - before - steady}))
'''


def _run(mode: str, n: int, rate: float) -> float:
    with tempfile.TemporaryDirectory(dir=REPO) as work:  # on the project's disk, not a tmpfs
        out = subprocess.run([sys.executable, "-c", CHILD, work, str(n), str(rate), mode, str(REPO)],
                             capture_output=True, text=True, check=True, cwd=REPO,
                             env={**os.environ, "PYTHONPATH": str(REPO)})
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return float(result["bytes_per_message"])


SD_COMMIT_S = 5.0  # the SD-card profile of docs/reliability.md (outbox.commit_interval_s)


def p7_write(quick: bool, n: int | None = None) -> dict[str, Figure]:
    """``P7_write``: the SD-card profile (group commit); ``P7_write_default``: one commit per message."""
    n = n or (30 if quick else 120)
    sd, default, baseline = _run(f"commit={SD_COMMIT_S:g}", n, 1.0), _run("current", n, 1.0), _run("legacy", n, 1.0)
    what = f"agent bytes written per outbox message at 1 message/s ({n} s, steady state; the close is apart)"
    return {
        "P7_write": Figure(sd, baseline, "B/message", f"{what}, outbox.commit_interval_s={SD_COMMIT_S:g}",
                           "release 0.1 write settings, same run", better="lower",
                           note="a power cut loses at most the last 5 s of unsent readings; never a sent one"),
        "P7_write_default": Figure(default, baseline, "B/message", f"{what}, a commit per message",
                                   "release 0.1 write settings, same run", better="lower",
                                   note="floor: one fsync'd append dirties one 4 KiB page (4.3 KB for 100 B)"),
    }
