"""`junkan gateway backup --db PATH --to FILE` and `junkan gateway restore --from FILE --db TARGET`.

SQLite only (the gateway store or an agent outbox, gateway/store/backup.py); for a PostgreSQL store the
commands say to use pg_dump/pg_restore (docs/operations.md), which are the right tools there.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    b = sub.add_parser("backup", help="Consistent copy of a SQLite store or agent outbox, also while it is in use.")
    b.add_argument("--db", default="var/gateway.db", help="SQLite store or outbox to copy (default var/gateway.db).")
    b.add_argument("--to", required=True, help="Backup file to write (replaced atomically when complete).")
    b.set_defaults(func=_backup)
    r = sub.add_parser("restore", help="Put a backup in place of a stopped gateway's store or agent's outbox.")
    r.add_argument("--from", dest="source", required=True, help="Backup file written by `gateway backup`.")
    r.add_argument("--db", required=True, help="Target SQLite file (a fresh path, or --force to replace data).")
    r.add_argument("--force", action="store_true",
                   help="Replace a target that holds data (never one a running gateway or agent has open).")
    r.set_defaults(func=_restore)


def _postgres(db: str, what: str) -> int | None:
    if "://" in db and not db.startswith("sqlite:///"):
        print(f"{what}: {db.split('://')[0]} stores are backed up with pg_dump -Fc and restored with pg_restore "
              "(docs/operations.md)", file=sys.stderr)
        return 2
    return None


def _path(db: str) -> Path:
    return Path(db.removeprefix("sqlite:///"))


def _backup(args: argparse.Namespace) -> int:
    from gateway.store.backup import BackupError, backup

    if (code := _postgres(args.db, "backup")) is not None:
        return code
    try:
        done = backup(_path(args.db), Path(args.to))
    except BackupError as exc:
        print(f"backup: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"backup": str(done.path), "kind": done.kind, "bytes": done.bytes, "tables": done.tables}))
    return 0


def _restore(args: argparse.Namespace) -> int:
    from gateway.store.backup import BackupError, restore

    if (code := _postgres(args.db, "restore")) is not None:
        return code
    try:
        done = restore(Path(args.source), _path(args.db), force=args.force)
    except BackupError as exc:
        print(f"restore: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"restored": str(done.path), "kind": done.kind, "bytes": done.bytes, "tables": done.tables}))
    return 0
