"""Backup and restore of SQLite stores (the gateway's and an agent's outbox) while they are in use.

Backup uses SQLite's online backup API in one step: in WAL mode the copy reads one snapshot while the
consumer keeps committing (readers do not block the writer), so the file is a consistent state of the
store at one instant, never a torn mix. A stepwise copy would restart whenever ingest commits and might
never finish under load. The copy is checked (``integrity_check``), written as a single file (rollback
journal, no -wal beside it), fsynced, then renamed into place.

Restore refuses to replace a database a process has open (a live gateway or agent would corrupt it),
an agent outbox whose lock a running agent holds, and a non-empty target without ``force``. PostgreSQL
is backed up with its own tools (pg_dump/pg_restore, docs/operations.md).
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from junkan.core.locks import describe, held_by, holders, lock_file_for


class BackupError(Exception):
    """The backup or restore was refused or failed; the message says why and what to do."""


@dataclass(frozen=True)
class Copied:
    path: Path
    kind: str  # gateway | outbox | sqlite
    tables: dict[str, int]
    bytes: int


def kind_of(conn: sqlite3.Connection) -> str:
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if {"outbox", "state"} <= names:
        return "outbox"
    if {"messages", "readings", "lots"} <= names:
        return "gateway"
    return "sqlite"


def table_counts(conn: sqlite3.Connection) -> dict[str, int]:
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
    return {n: int(conn.execute(f'SELECT COUNT(*) FROM "{n}"').fetchone()[0]) for n in names}


def _copy(src: sqlite3.Connection, dest: Path) -> Copied:
    """Online-backup ``src`` into ``dest`` via a temp file beside it (atomic rename, fsynced)."""
    partial = dest.with_name(dest.name + ".partial")
    partial.unlink(missing_ok=True)
    out = sqlite3.connect(partial, isolation_level=None)
    try:
        src.backup(out)  # pages=-1: the whole database from one read snapshot
        out.execute("PRAGMA journal_mode=DELETE")
        check = out.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise BackupError(f"the copy failed its integrity check: {check}")
        kind, counts = kind_of(out), table_counts(out)
    finally:
        out.close()
    fd = os.open(partial, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(partial, dest)
    dir_fd = os.open(dest.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself survives a power cut
    finally:
        os.close(dir_fd)
    return Copied(dest, kind, counts, dest.stat().st_size)


def backup(db: Path, to: Path) -> Copied:
    """A consistent copy of the SQLite database ``db`` (gateway store or agent outbox) in ``to``."""
    if not db.exists():
        raise BackupError(f"{db} does not exist")
    if to.resolve() == db.resolve():
        raise BackupError("--to must differ from the database")
    to.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(db, timeout=30)
    try:
        src.execute("PRAGMA busy_timeout=30000")
        return _copy(src, to)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{db}: {exc}") from None
    finally:
        src.close()


def _is_empty(path: Path) -> bool:
    if not path.exists() or path.stat().st_size == 0:
        return True
    conn = sqlite3.connect(path)
    try:
        return all(n == 0 for t, n in table_counts(conn).items() if not t.startswith(("sqlite_", "_sqlite")))
    except sqlite3.DatabaseError:
        return False  # unreadable is not empty: it may be someone's data
    finally:
        conn.close()


def restore(source: Path, target: Path, force: bool = False) -> Copied:
    """Put the backup ``source`` at ``target`` (a stopped gateway's store or a stopped agent's outbox)."""
    if not source.exists():
        raise BackupError(f"{source} does not exist")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        if src.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise BackupError(f"{source} failed its integrity check: not restoring it")
        kind = kind_of(src)
        refuse_live(target, kind)
        if not force and not _is_empty(target):
            raise BackupError(f"{target} holds data: pass --force to replace it (keep a backup of it first)")
        target.parent.mkdir(parents=True, exist_ok=True)
        copied = _copy(src, target.with_name(target.name + ".restored"))
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{source}: {exc}") from None
    finally:
        src.close()
    refuse_live(target, kind)  # again: nobody may have opened it while we copied
    for suffix in ("-wal", "-shm"):  # a WAL left from the old file would be replayed into the new one
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    os.replace(copied.path, target)
    return Copied(target, copied.kind, copied.tables, copied.bytes)


def refuse_live(target: Path, kind: str) -> None:
    """Raise when a process uses ``target``: force never overrides this (the file would be corrupted)."""
    if kind == "outbox" and (held := held_by(lock_file_for(target))):
        raise BackupError(f"an agent is running on {target} ({held}): stop it before restoring its outbox")
    paths = [target, Path(f"{target}-wal")]
    found = [h for p in paths if p.exists() for h in holders(p)]
    if found:
        raise BackupError(f"{target} is open by {describe(found)}: stop it before restoring")
