"""`junkan sim xrf --flavor vanta|niton --out DIR`: a handheld XRF operator exporting one CSV per reading.

With ``--stream`` the same CSV lines go to a PTY instead (path printed), as a Niton on its serial port.
The truth (ppm per element, null = below LOD) is written as JSON lines to ``--truth``.
"""

from __future__ import annotations

import argparse
import json
import random
import threading
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("xrf", help="Simulate a handheld XRF exporting result CSV files (or a line stream).")
    p.add_argument("--flavor", choices=["vanta", "niton"], default="vanta", help="Export layout.")
    p.add_argument("--out", default="xrf-exports", help="Folder to export into.")
    p.add_argument("--stream", action="store_true", help="Write the lines to a PTY instead of files.")
    p.add_argument("--interval", type=float, default=5.0, help="Seconds between readings.")
    p.add_argument("--count", type=int, help="Stop after this many readings.")
    p.add_argument("--seed", type=int, default=1, help="Random seed.")
    p.add_argument("--truth", default="xrf-truth.jsonl", help="Ground truth per reading (JSON lines).")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from simulators.pty_port import PtyPort
    from simulators.xrf.exporter import XrfExporter
    from simulators.xrf.niton_csv import niton_header, niton_row
    from simulators.xrf.samples import random_sample
    from simulators.xrf.vanta_csv import vanta_header, vanta_row

    stop = threading.Event()
    truth = Path(args.truth)
    try:
        if not args.stream:
            exporter = XrfExporter(Path(args.out), args.flavor, args.interval, args.seed)
            print(Path(args.out).resolve(), flush=True)
            exporter.run(stop, args.count)
            samples = exporter.truth
        else:
            port = PtyPort()
            print(port.path, flush=True)
            rng, samples = random.Random(args.seed), []
            header = vanta_header() if args.flavor == "vanta" else niton_header()
            port.write(header.encode())
            n = 0
            while args.count is None or n < args.count:
                n += 1
                s = random_sample(rng, n)
                port.write((vanta_row(s) if args.flavor == "vanta" else niton_row(s)).encode())
                samples.append(s)
                if stop.wait(args.interval):
                    break
            port.close()
    except KeyboardInterrupt:
        return 0
    with truth.open("a", encoding="utf-8") as fh:
        for s in samples:
            fh.write(json.dumps({"reading_no": s.reading_no, "ppm": s.ppm}) + "\n")
    return 0
