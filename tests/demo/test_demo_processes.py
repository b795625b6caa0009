"""`junkan demo` leaves no process behind: SIGTERM stops every child in order, SIGKILL via PR_SET_PDEATHSIG.

Runs the real whole-line demo (broker, gateway, agent as child processes; simulators as threads) and finds
its children in /proc, so a child that survives is seen whatever its name.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def _starttime(pid: int) -> str | None:
    """Field 22 of /proc/PID/stat (start time): a pid reused by another process has another one."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] == "Z" else fields[19]  # a zombie is dead, only not reaped yet


def descendants(root: int) -> dict[int, str]:
    """pid -> start time of every process below ``root``."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int(entry.joinpath("stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found: dict[int, str] = {}
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop()
        if (start := _starttime(pid)) is not None:
            found[pid] = start
        todo.extend(children.get(pid, []))
    return found


def _start_demo(tmp_path: Path) -> tuple[subprocess.Popen[str], dict[int, str], list[str]]:
    proc = subprocess.Popen([sys.executable, "-m", "junkan.cli", "demo", "--duration", "0", "--workdir",
                             str(tmp_path / "run")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("Running until"):
            break
    assert lines and lines[0].startswith("Dashboard: http://127.0.0.1:"), lines[:3]  # the URL comes first
    assert any(x.startswith("Running until") for x in lines), "".join(lines)
    kids = descendants(proc.pid)
    names = {Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ").decode() for p in kids}
    assert any("mosquitto" in n for n in names) and any("gateway serve" in n for n in names), names
    assert any("agent run" in n for n in names), names
    return proc, kids, lines


def _survivors(kids: dict[int, str], within_s: float) -> list[int]:
    deadline = time.monotonic() + within_s
    while True:
        alive = [pid for pid, start in kids.items() if _starttime(pid) == start]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.2)


def _evidence_downloads_while_running(lines: list[str]) -> None:
    """Keys are made at start: the signed JWS, the PDF and EPCIS of the first closed lot download during the run;
    the lot still open is refused (no evidence for an open lot, issue 17)."""
    api = lines[0].split()[1].rstrip("/")
    deadline = time.monotonic() + 120
    closed: list[dict[str, object]] = []
    while not closed and time.monotonic() < deadline:
        with urllib.request.urlopen(api + "/api/v1/lots?status=closed", timeout=10) as resp:
            closed = json.loads(resp.read())
        time.sleep(0.5)
    assert closed, "no lot closed while the demo ran"
    for fmt, magic in (("jws", b"eyJ"), ("pdf", b"%PDF-"), ("epcis", b"{")):
        with urllib.request.urlopen(f"{api}/api/v1/lots/{closed[0]['lot_id']}/evidence?format={fmt}", timeout=30) as r:
            assert r.status == 200 and r.read().startswith(magic), fmt
    with urllib.request.urlopen(api + "/api/v1/lots?status=open", timeout=10) as resp:
        still_open = json.loads(resp.read())
    for lot in still_open[:1]:
        try:
            urllib.request.urlopen(f"{api}/api/v1/lots/{lot['lot_id']}/evidence?format=jws", timeout=30)
        except urllib.error.HTTPError as exc:
            assert exc.code == 409
        else:
            raise AssertionError(f"evidence was issued for the open lot {lot['lot_id']}")


def test_sigterm_stops_every_child(tmp_path: Path) -> None:
    proc, kids, lines = _start_demo(tmp_path)
    _evidence_downloads_while_running(lines)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 143, out
    assert "stopped by SIGTERM" in out  # the clean path ran, not the kernel's backstop
    assert _survivors(kids, 5) == []


def test_sigkill_of_the_demo_takes_its_children_along(tmp_path: Path) -> None:
    proc, kids, _ = _start_demo(tmp_path)
    proc.kill()
    proc.wait(timeout=10)
    assert proc.stdout is not None
    proc.stdout.close()
    alive = _survivors(kids, 30)
    names = [Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ").decode() for p in alive]
    for pid in alive:  # do not leave them to the next test
        os.kill(pid, signal.SIGKILL)
    assert alive == [], names
