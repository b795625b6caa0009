"""`junkan sim camera`: rendered rating plates or a conveyor, as a video file, JPEG stills or MJPEG stream.

Every frame's ground truth (plate text and codes, or objects and line crossings) goes to a JSON-lines
file so decode, OCR and count rates can be measured against it.
"""

from __future__ import annotations

import argparse
import threading
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("camera", help="Render nameplate or conveyor frames (video, stills or MJPEG).")
    p.add_argument("--scene", choices=["nameplate", "conveyor"], default="nameplate", help="What to render.")
    p.add_argument("--frames", type=int, default=300, help="Number of frames.")
    p.add_argument("--fps", type=float, default=10.0, help="Frame rate of the video / stream.")
    p.add_argument("--seed", type=int, default=1, help="Random seed (same seed, same frames).")
    p.add_argument("--out", default="camera-sim.avi", help="Video file (.avi MJPG or .mp4).")
    p.add_argument("--stills", help="Write JPEG stills to this directory instead of a video.")
    p.add_argument("--serve", type=int, metavar="PORT", help="Serve http://127.0.0.1:PORT/stream.mjpg instead.")
    p.add_argument("--truth", default="camera-truth.jsonl", help="Ground truth, one JSON line per frame.")
    p.add_argument(
        "--code",
        default="random",
        choices=["random", "qr", "datamatrix", "code128", "none"],
        help="Code printed on the plates.",
    )
    p.add_argument("--severity", choices=["typical", "hard"], default="typical", help="Angles, blur and glare.")
    p.add_argument("--hold", type=int, default=10, help="Frames each plate stays in view.")
    p.add_argument("--rate", type=float, default=2.0, help="Conveyor: objects per second (upper bound).")
    p.add_argument("--dark-share", type=float, default=0.2, help="Conveyor: share of black objects.")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from simulators.camera import video

    if args.scene == "nameplate":
        code = None if args.code == "none" else args.code
        frames = video.nameplate_frames(args.frames, args.seed, args.hold, code, args.severity)
    else:
        frames = video.conveyor_frames(args.frames, args.seed, args.fps, args.rate, args.dark_share)
    truth = Path(args.truth) if args.truth else None
    if args.serve:
        print(f"serving http://127.0.0.1:{args.serve}/stream.mjpg", flush=True)
        try:
            video.serve_mjpeg(frames, args.serve, args.fps, threading.Event())
        except KeyboardInterrupt:
            return 0
        return 0
    if args.stills:
        n = video.write_stills(frames, Path(args.stills), truth)
        print(f"wrote {n} stills to {args.stills}, truth {truth}")
        return 0
    n = video.write_video(frames, Path(args.out), args.fps, truth)
    print(f"wrote {n} frames to {args.out}, truth {truth}")
    return 0
