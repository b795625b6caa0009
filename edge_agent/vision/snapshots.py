"""Evidence snapshots: the JPEG of the frame that produced an identification, named by its SHA-256.

Content addressing makes the reference in the reading verifiable later (hash the file, compare) and
stores a frame seen twice only once.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import cv2
import numpy as np


def encode_jpeg(frame: np.ndarray, quality: int = 85) -> bytes:
    ok, buf = cv2.imencode(".jpg", frame, [int(cv2.IMWRITE_JPEG_QUALITY), quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()


def store(frame: np.ndarray, directory: Path, quality: int = 85) -> dict[str, Any]:
    """Write ``<dir>/<sha256[:2]>/<sha256>.jpg`` (atomically) and return the reference for the reading."""
    data = encode_jpeg(frame, quality)
    digest = hashlib.sha256(data).hexdigest()
    path = directory / digest[:2] / f"{digest}.jpg"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return {"sha256": digest, "path": str(path), "bytes": len(data)}


def verify(ref: dict[str, Any]) -> bool:
    """True when the stored file still hashes to the digest in the reading."""
    try:
        return hashlib.sha256(Path(ref["path"]).read_bytes()).hexdigest() == ref["sha256"]
    except OSError:
        return False
