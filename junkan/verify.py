"""`junkan verify FILE --key PUB`: offline check of signed composition evidence (see gateway.evidence)."""

from __future__ import annotations

import argparse


def register(top: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = top.add_parser("verify", help="Verify a signed evidence file offline; non-zero exit on tampering.")
    p.add_argument("file", help="Evidence file (JWS compact serialisation or JSON with a 'jws' member).")
    p.add_argument("--key", help="Plant public key (PEM). Defaults to the key embedded in the file.")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from gateway.evidence.signing import verify_file

    return verify_file(args.file, args.key)
