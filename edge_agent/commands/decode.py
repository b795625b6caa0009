"""`junkan agent decode --driver KEY FILE`: print the readings a capture file holds, one JSON per line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("decode", help="Decode a raw capture offline with a driver's parser.")
    p.add_argument("--driver", required=True, help="Driver key, e.g. mt_sics")
    p.add_argument("file", help="Raw bytes, or a JSON-lines capture from `junkan agent capture`.")
    p.add_argument("--bad", action="store_true", help="Also print bad frames with their reason.")
    p.add_argument("--device-config", metavar="YAML",
                   help="A device entry (e.g. firmware_configs/devices/<key>.example.yaml) for the decoder's settings.")
    p.set_defaults(func=_run)


def read_capture(path: Path) -> bytes:
    """A byte capture (JSON lines ``{"t", "dir", "hex"}``: the received bytes are joined) or anything
    else as-is: raw bytes, an XRF CSV export, a Modbus register dump (JSON lines without ``hex``)."""
    data = path.read_bytes()
    if data.startswith(b'{"t"'):
        try:
            records = [json.loads(line) for line in data.splitlines() if line.strip()]
            if all("hex" in r for r in records):
                return b"".join(bytes.fromhex(r["hex"]) for r in records if r.get("dir", "rx") == "rx")
        except (ValueError, TypeError):
            pass
    return data


def decode_bytes(driver: str, data: bytes, config: object = None) -> list:  # type: ignore[type-arg]
    from edge_agent.drivers import DRIVERS

    decoder = DRIVERS[driver].decoder(config)
    return decoder.feed(data)


def _run(args: argparse.Namespace) -> int:
    from edge_agent.drivers import DRIVERS
    from edge_agent.drivers.base import BadFrame

    if args.driver not in DRIVERS:
        print(f"unknown driver {args.driver!r}; known: {', '.join(sorted(DRIVERS))}", file=sys.stderr)
        return 2
    config = None
    if args.device_config:
        import yaml
        from pydantic import ValidationError

        try:
            config = DRIVERS[args.driver].config.model_validate(yaml.safe_load(Path(args.device_config).read_text()))
        except (OSError, yaml.YAMLError, ValidationError) as exc:
            print(f"{args.device_config}: {exc}", file=sys.stderr)
            return 2
    for item in decode_bytes(args.driver, read_capture(Path(args.file)), config):
        if isinstance(item, BadFrame):
            if args.bad:
                print(json.dumps({"bad_frame": item.reason, "raw": item.raw.hex()}))
            continue
        print(json.dumps(item.as_json(), ensure_ascii=False))
    return 0
