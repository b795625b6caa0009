"""`junkan agent identify IMAGE...`: codes, OCR lines and model candidates of still images, one JSON each.

Uses the same pipeline as a running camera, so what this prints is what the agent would send.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("identify", help="Read barcodes and rating-plate text from images.")
    p.add_argument("images", nargs="+", help="Image files (PNG, JPEG ...).")
    p.add_argument("--config", help="A camera device entry (YAML) for formats, OCR region and patterns.")
    p.add_argument("--no-ocr", action="store_true", help="Codes only (fast).")
    p.add_argument("--snapshots", help="Store evidence JPEGs here and reference them in the output.")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import yaml
    from pydantic import ValidationError

    from edge_agent.drivers.base import BadFrame
    from edge_agent.drivers.camera import CameraConfig, ImageDecoder, default_config
    from edge_agent.vision.detector import ModelError

    try:
        config = default_config()
        if args.config:
            config = CameraConfig.model_validate(yaml.safe_load(Path(args.config).read_text(encoding="utf-8")))
        analyzers = [a for a in config.analyzers if a in ("codes", "ocr")] or ["codes", "ocr"]
        if args.no_ocr:
            analyzers = ["codes"]
        update: dict[str, object] = {"analyzers": analyzers, "repeat_after_s": 0.0,
                                     "ocr": config.ocr.model_copy(update={"every_s": 0.0})}
        if args.snapshots:
            update["snapshots"] = config.snapshots.model_copy(update={"directory": args.snapshots})
        dec = ImageDecoder(config.model_copy(update=update))
    except (OSError, ValidationError, ModelError, ValueError, yaml.YAMLError) as exc:
        print(f"identify: {exc}", file=sys.stderr)
        return 2
    status = 0
    for image in args.images:
        out: dict[str, object] = {"image": image, "codes": [], "ocr_lines": [], "model_candidates": []}
        try:
            items = dec.feed(Path(image).read_bytes())
        except OSError as exc:
            items = [BadFrame(str(exc))]
        for item in items:
            if isinstance(item, BadFrame):
                out["error"] = item.reason
                status = 1
            else:
                out.update({k: v for k, v in item.data.items() if k != "gs1"})
        print(json.dumps(out, ensure_ascii=False), flush=True)
    return status
