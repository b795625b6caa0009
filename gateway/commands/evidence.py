"""`junkan gateway evidence LOT_ID --db PATH --format ... [--out FILE]`: composition evidence of a lot."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from gateway.evidence.exporters import EXPORTERS
from junkan.core.config import add_config_arguments, load_or_report

if TYPE_CHECKING:
    from gateway.specs.screening import ScreeningSettings
    from gateway.store.base import Store

CONFIG_HELP = ("Gateway settings YAML (firmware_configs/gateway.example.yaml): its screening.* (BFR Br threshold) "
               "applies, as in `serve`; default: the built-in defaults.")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("evidence", help="Composition evidence of a lot in one of the formats: "
                       + ", ".join(EXPORTERS) + ".")
    p.add_argument("lot_id", help="Output lot id.")
    p.add_argument("--db", required=True, help="Store: a SQLite file path or a postgresql:// URL.")
    p.add_argument("--format", default="json", choices=list(EXPORTERS),
                   help="Output format (default json): " + "; ".join(f"{e.key}: {e.description}"
                                                                    for e in EXPORTERS.values()) + ".")
    p.add_argument("--out", help="Write to this file (default: stdout; needed for pdf on a terminal).")
    p.add_argument("--keys", help="Signing key folder (default: $JUNKAN_KEYS_DIR or keys/ beside the database).")
    add_config_arguments(p, CONFIG_HELP, required=False)
    p.set_defaults(func=_run)
    u = sub.add_parser("evidence-upload", help="Publish evidence (EPCIS capture, recycler webhooks) and deliver the "
                       "upload outbox.")
    u.add_argument("--db", required=True, help="Store: a SQLite file path or a postgresql:// URL.")
    u.add_argument("--lot", action="append", default=[], help="Queue this lot's evidence (repeatable).")
    u.add_argument("--capture-url", help="EPCIS repository base URL; /capture is appended.")
    u.add_argument("--untp-url", help="Also POST the lot's signed UNTP credentials (DPP, DCC) to this URL.")
    u.add_argument("--add-webhook", nargs=3, metavar=("RECYCLER", "URL", "SECRET"),
                   help="Register (or replace) a recycler's webhook.")
    u.add_argument("--keys", help="Signing key folder (default: $JUNKAN_KEYS_DIR or keys/ beside the database).")
    u.add_argument("--timeout", type=float, default=60.0, help="Deliver until idle or this many seconds.")
    add_config_arguments(u, CONFIG_HELP, required=False)
    u.set_defaults(func=_upload)
    r = sub.add_parser("evidence-revoke", help="Revoke issued evidence: its credentials then fail `junkan verify` "
                       "(the gateway's revocation list at /credentials/status/revocation).")
    r.add_argument("--db", required=True, help="Store: a SQLite file path or a postgresql:// URL.")
    which = r.add_mutually_exclusive_group(required=True)
    which.add_argument("--evidence-id", help="The evidence id (urn:junkan:evidence:...) to revoke.")
    which.add_argument("--lot", help="Revoke every evidence issued for this lot.")
    r.add_argument("--reason", default="", help="Why (kept in the store).")
    r.set_defaults(func=_revoke)


def _screening(args: argparse.Namespace) -> ScreeningSettings | None:
    """The gateway settings' screening (``--config``/``--set``), so the CLI issues what the API issues; None
    (exit 2) after printing a settings error."""
    from gateway.settings import SettingsError, load_settings

    settings = load_or_report(load_settings, args.config, args.set, (SettingsError,))
    return settings.screening if settings is not None else None


def _issuing(args: argparse.Namespace) -> tuple[Store, Path, ScreeningSettings] | None:
    """What `evidence` and `evidence-upload` issue with: the store, its signing key folder and the screening
    settings; None (exit 2) after a settings error (the store is then not opened)."""
    from gateway.commands.export import existing_store_url
    from gateway.evidence.formats import keys_dir_for
    from gateway.store import open_store

    if (screening := _screening(args)) is None:
        return None
    url = existing_store_url(args.db)
    return open_store(url), Path(args.keys) if args.keys else keys_dir_for(url), screening


def _revoke(args: argparse.Namespace) -> int:
    from gateway.commands.export import existing_store_url
    from gateway.evidence import status
    from gateway.store import open_store

    store = open_store(existing_store_url(args.db))
    try:
        revoked = status.revoke(store.db, evidence_id=args.evidence_id, lot_id=args.lot, reason=args.reason)
    except KeyError as exc:
        print(f"evidence-revoke: {exc.args[0]}", file=sys.stderr)
        return 1
    finally:
        store.close()
    print(f"revoked {len(revoked)} evidence: " + (", ".join(revoked) or "(already revoked)"), file=sys.stderr)
    return 0


def _upload(args: argparse.Namespace) -> int:
    import json

    import httpx

    from gateway.evidence.issuable import NotIssuable
    from gateway.evidence.keys import KeyError_
    from gateway.upload import outbox
    from gateway.upload.publish import publish_evidence
    from gateway.upload.sender import Sender, register_webhook

    if (issuing := _issuing(args)) is None:
        return 2
    store, keys_dir, screening = issuing
    try:
        db = store.db
        if args.add_webhook:
            register_webhook(db, *args.add_webhook)
        for lot in args.lot:
            print(json.dumps(publish_evidence(store, lot, keys_dir, args.capture_url, args.untp_url,
                                              screening=screening)))
        with httpx.Client(timeout=30.0) as client:
            counts = Sender(db, client).run_until_idle(args.timeout)
        failed = outbox.rows(db, "failed")
        print(json.dumps({"delivered": counts, "failed": [{"id": r.id, "kind": r.kind, "target": r.target,
                                                            "error": r.last_error} for r in failed]}))
    except (KeyError, KeyError_, ValueError, NotIssuable) as exc:
        print(f"evidence-upload: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
    return 1 if failed else 0


def _run(args: argparse.Namespace) -> int:
    from gateway.evidence.formats import ExportError, produce
    from gateway.evidence.issuable import NotIssuable
    from gateway.evidence.keys import KeyError_

    if (issuing := _issuing(args)) is None:
        return 2
    store, keys_dir, screening = issuing
    # exit codes: 1 no evidence for this lot (not issuable, unknown), 2 no signing key, 3 the exporter failed
    exits: dict[type[Exception], int] = {NotIssuable: 1, KeyError: 1, KeyError_: 2, ExportError: 3}
    try:
        data, _ = produce(store, args.lot_id, args.format, keys_dir, screening)
    except tuple(exits) as exc:
        print(f"evidence: {exc.args[0] if isinstance(exc, KeyError) and exc.args else exc}", file=sys.stderr)
        return next(code for kind, code in exits.items() if isinstance(exc, kind))
    finally:
        store.close()
    if args.out:
        Path(args.out).write_bytes(data)
        print(f"wrote {args.out} ({len(data)} bytes)", file=sys.stderr)
    elif EXPORTERS[args.format].binary and sys.stdout.isatty():
        print(f"evidence: refusing to write {args.format} (binary) to a terminal; use --out FILE", file=sys.stderr)
        return 2
    else:
        sys.stdout.buffer.write(data)
    return 0
