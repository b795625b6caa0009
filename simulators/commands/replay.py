"""`junkan sim replay FILE [--speed 10]`: play a `junkan agent capture` file back with its original timing.

The bytes the device sent (``"dir": "rx"`` records) are written to a PTY (path printed first, so a
script can read it) or, with ``--tcp``, to the first client of a TCP socket. A driver reading the replay
sees the same bytes in the same order as the live session, so it must decode the same readings.
``--wait`` gives the reader time to open the PTY first: a serial runner flushes its input on open.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from simulators.scales.stream import BytePort


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("replay", help="Play a capture back on a PTY (or TCP) with the original timing.")
    p.add_argument("file", help="Capture file (JSON lines from `junkan agent capture` / `agent run --capture`).")
    p.add_argument("--speed", type=float, default=1.0, help="Time compression (10 = ten times faster).")
    p.add_argument("--wait", type=float, default=2.0, help="Seconds to wait before playing (time to attach).")
    p.add_argument("--tcp", action="store_true", help="Serve on a TCP port instead; starts when a client connects.")
    p.add_argument("--loop", action="store_true", help="Start again at the end until interrupted.")
    p.set_defaults(func=_run)


def load_capture(path: Path) -> list[tuple[float, bytes]]:
    """(seconds since capture start, bytes) of every received chunk; bad lines are reported and skipped."""
    events: list[tuple[float, bytes]] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            if rec.get("dir", "rx") == "rx":
                events.append((float(rec["t"]), bytes.fromhex(rec["hex"])))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            print(f"{path}:{n}: skipped, not a capture record ({exc})", file=sys.stderr)
    events.sort(key=lambda e: e[0])
    return events


def play(events: list[tuple[float, bytes]], port: BytePort, speed: float, stop: threading.Event,
         on_progress: Callable[[float], None] | None = None) -> int:
    """Write each chunk at its original offset divided by ``speed``; returns bytes written."""
    if not events:
        return 0
    start, t0, written = time.monotonic(), events[0][0], 0
    for t, data in events:
        due = start + (t - t0) / speed
        while (delay := due - time.monotonic()) > 0:
            if stop.wait(min(delay, 0.1)):
                return written
            port.read(0)  # drain what the reader sends (polls), as the device would
        port.write(data)
        written += len(data)
        if on_progress:
            on_progress(t - t0)
    return written


def _run(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from simulators.pty_port import PtyPort
    from simulators.tcp_port import TcpServerPort

    events = load_capture(Path(args.file))
    if not events:
        print(f"{args.file}: no received bytes to replay", file=sys.stderr)
        return 2
    port: PtyPort | TcpServerPort = TcpServerPort() if args.tcp else PtyPort()
    print(port.url if isinstance(port, TcpServerPort) else port.path, flush=True)
    stop = threading.Event()
    span = events[-1][0] - events[0][0]
    try:
        if isinstance(port, TcpServerPort):
            while port._client is None:
                port.read(0.2)
        else:
            time.sleep(args.wait)
        while True:
            if span / args.speed > 3:
                with Progress(transient=True) as progress:
                    task = progress.add_task("replaying", total=span)
                    play(events, port, args.speed, stop,
                         lambda t, task=task: progress.update(task, completed=t))  # type: ignore[misc]
            else:
                play(events, port, args.speed, stop)
            if not args.loop:
                break
        time.sleep(0.5)  # let the reader take the last bytes before the PTY closes
    except KeyboardInterrupt:
        pass
    finally:
        port.close()
    return 0
