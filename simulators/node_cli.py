"""The command line both MQTT scale nodes share (``esphome_mqtt``, ``sparkplug_b``): ``run`` against a
broker, ``frames`` to a capture file, and the weighing plan ``--containers tare:net,...`` (kg).

Standard library only: the Sparkplug B node runs in its own venv and imports nothing from junkan.
"""

from __future__ import annotations

import argparse
import base64
import json
from typing import Any

CAPTURE_T0 = 1_770_000_000  # unix s of a capture's first message; the next ones follow 0.1 s apart


def containers(text: str) -> list[tuple[float, float]]:
    """``20:480.5,22.5:505.25`` -> [(tare, net), ...] in kg."""
    return [(float(a), float(b)) for a, b in (item.split(":") for item in text.split(",") if item)]


def node_parser(prog: str, doc: str, die_help: str) -> tuple[argparse.ArgumentParser, Any, argparse.ArgumentParser,
                                                            argparse.ArgumentParser]:
    """The parser, its subcommands, and the ``run`` and ``frames`` parsers, with the options both nodes take
    (the node adds its own)."""
    parser = argparse.ArgumentParser(prog=prog, description=doc.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    run_p, frames_p = sub.add_parser("run"), sub.add_parser("frames")
    for p in (run_p, frames_p):
        p.add_argument("--containers", default="20:480.5,22.5:505.25", help="tare:net,... in kg")
        p.add_argument("--die-at", type=int, default=-1, help=die_help)
    run_p.add_argument("--truth", help="append one JSON line per container removed")
    frames_p.add_argument("--out", required=True)
    return parser, sub, run_p, frames_p


def write_capture(path: str, messages: list[tuple[str, str]] | list[tuple[str, bytes]]) -> None:
    """(topic, payload) messages as the MQTT-source drivers' capture file: ``{"t", "topic", "payload"}`` lines
    for text payloads (ESPHome), ``"payload_b64"`` for binary ones (Sparkplug B protobuf)."""
    with open(path, "w", encoding="utf-8") as f:
        for n, (topic, payload) in enumerate(messages):
            body = {"payload_b64": base64.b64encode(payload).decode()} if isinstance(payload, bytes) \
                else {"payload": payload}
            f.write(json.dumps({"t": CAPTURE_T0 + n / 10, "topic": topic, **body}) + "\n")
