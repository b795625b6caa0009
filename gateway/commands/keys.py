"""`junkan gateway keys generate|rotate|show --dir DIR`: the plant's Ed25519 signing keys."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("keys", help="Generate, rotate or show the plant's evidence signing keys (Ed25519).")
    p.add_argument("action", choices=["generate", "rotate", "show", "revoke", "did"],
                   help="What to do: revoke --kid KID (a retired key: nothing it signed verifies any more); did: "
                        "print the DID document the gateway serves at /.well-known/did.json.")
    p.add_argument("--kid", help="revoke: the key id (thumbprint) to revoke.")
    p.add_argument("--dir", help="Key folder (default: $JUNKAN_KEYS_DIR or keys/ beside --db).")
    p.add_argument("--db", help="Store path, to find the default key folder beside it.")
    p.add_argument("--plant-name", help="Issuer name written into evidence (generate only).")
    p.add_argument("--did", help="Issuer DID, e.g. did:web:recycler.example (generate only; its document is "
                   "served at https://recycler.example/.well-known/did.json).")
    p.add_argument("--public-out", help="Also write the active public key (PEM) to this file.")
    p.add_argument("--force", action="store_true", help="generate: replace an existing keyring.")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from gateway.commands.export import store_url
    from gateway.evidence import keys
    from gateway.evidence.formats import keys_dir_for

    folder = Path(args.dir) if args.dir else keys_dir_for(store_url(args.db) if args.db else "")
    try:
        if args.action == "generate":
            if args.did and not args.did.startswith("did:web:"):
                print("keys: --did must be a did:web DID (did:web:HOST, a port as %3A)", file=sys.stderr)
                return 2
            issuer = keys.DEFAULT_ISSUER.model_copy(update={"name": args.plant_name or keys.DEFAULT_ISSUER.name,
                                                            "id": args.did or keys.DEFAULT_ISSUER.id})
            key = keys.generate(folder, issuer, force=args.force)
        elif args.action == "rotate":
            key = keys.rotate(folder)
        elif args.action == "revoke":
            if not args.kid:
                print("keys: revoke needs --kid", file=sys.stderr)
                return 2
            keys.revoke_key(folder, args.kid)
            key = keys.active(folder)
        elif args.action == "did":
            from gateway.evidence.did import document

            key = keys.active(folder)
            print(json.dumps(document(keys.load_ring(folder), keys.public_jwks(folder)), indent=2))
        else:
            key = keys.active(folder)
            print(json.dumps(keys.load_ring(folder).model_dump(mode="json"), indent=2))
    except keys.KeyError_ as exc:
        print(f"keys: {exc}", file=sys.stderr)
        return 2
    if args.public_out:
        Path(args.public_out).write_bytes(key.public_pem())
    print(f"{args.action}: active key {key.kid} in {folder} (issuer {key.issuer.id})", file=sys.stderr)
    return 0
