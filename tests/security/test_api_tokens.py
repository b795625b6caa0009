"""Tokens are stored hashed, checked in constant time, revocable; the CLI prints a token exactly once."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from gateway.auth import AuthRepo
from gateway.auth import tokens as tk
from gateway.store import open_store
from gateway.store.base import Store
from gateway.store.sqlite import SqliteStore


def test_token_is_never_stored_only_its_sha256(tmp_path: Path) -> None:
    # SQLite on purpose: it greps the database files on disk (WAL included) for the secret.
    store = SqliteStore(tmp_path / "gateway.db")
    repo = AuthRepo(store.db)
    token = repo.add_user("alice", "operator")
    token_id, secret = tk.parse(token) or ("", "")
    row = store.db.one("SELECT token_id, token_hash FROM api_users WHERE name = 'alice'")
    assert row == {"token_id": token_id, "token_hash": hashlib.sha256(secret.encode()).hexdigest()}
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("gateway.db*"))
    assert secret.encode() not in raw and token.encode() not in raw
    assert hashlib.sha256(secret.encode()).hexdigest().encode() in raw


def test_authenticate_accepts_the_token_and_nothing_close_to_it(gateway_store: Store) -> None:
    repo = AuthRepo(gateway_store.db)
    token = repo.add_user("bob", "recycler", "acme-recycling")
    principal = repo.authenticate(token)
    assert principal is not None and (principal.name, principal.role, principal.tenant) == (
        "bob", "recycler", "acme-recycling")
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert repo.authenticate(flipped) is None
    parsed = tk.parse(token)
    assert parsed is not None
    assert repo.authenticate(token.replace(parsed[0], "x" * 12)) is None  # another token id, same secret
    assert repo.authenticate("") is None


def test_rotate_and_revoke_end_the_old_token_and_its_sessions(gateway_store: Store) -> None:
    repo = AuthRepo(gateway_store.db)
    old = repo.add_user("carol", "engineer")
    session = repo.create_session(repo.authenticate(old), 3600)  # type: ignore[arg-type]
    assert repo.session(session) is not None
    new = repo.rotate("carol")
    assert repo.authenticate(old) is None and repo.authenticate(new) is not None
    assert repo.session(session) is None
    repo.revoke("carol")
    assert repo.authenticate(new) is None


def test_sessions_are_stored_hashed_and_expire(gateway_store: Store) -> None:
    repo = AuthRepo(gateway_store.db)
    principal = repo.authenticate(repo.add_user("dave", "operator"))
    assert principal is not None
    value = repo.create_session(principal, ttl_s=3600)
    stored = gateway_store.db.rows("SELECT session_hash FROM api_sessions")
    assert stored == [{"session_hash": hashlib.sha256(value.encode()).hexdigest()}]
    gateway_store.db.execute("UPDATE api_sessions SET expires_at = '2000-01-01T00:00:00+00:00'")
    assert repo.session(value) is None


@given(st.text(max_size=300))
def test_parse_never_raises_on_hostile_input(text: str) -> None:
    parsed = tk.parse(text)
    assert parsed is None or (len(parsed[0]) == 12 and len(parsed[1]) == 43)


def test_cli_prints_the_token_once_and_list_never_shows_it(gateway_db_url: str) -> None:
    db = gateway_db_url
    run = [sys.executable, "-m", "junkan.cli", "gateway", "users"]
    added = subprocess.run([*run, "add", "eve", "--role", "admin", "--db", str(db)], capture_output=True, text=True,
                           timeout=60)
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip()
    parsed = tk.parse(token)
    assert parsed is not None and token not in added.stderr
    secret = parsed[1]  # not token.split("_"): the id and the secret are base64url and may contain "_"
    listed = subprocess.run([*run, "list", "--db", str(db)], capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0 and "eve\tadmin" in listed.stdout and secret not in listed.stdout
    dup = subprocess.run([*run, "add", "eve", "--role", "admin", "--db", str(db)], capture_output=True, text=True,
                         timeout=60)
    assert dup.returncode == 2 and "exists" in dup.stderr
    store = open_store(db)
    try:
        assert AuthRepo(store.db).authenticate(token) is not None
    finally:
        store.close()
