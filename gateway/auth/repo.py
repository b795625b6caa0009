"""Users, tokens and dashboard sessions in the gateway store (tables from migration ``api_auth``).

Portable SQL written with ``?`` placeholders, converted for PostgreSQL like ``BatchWriter`` does.
Only hashes are stored: a token or session value never reaches the database.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.auth import tokens
from gateway.auth.policy import ROLES


class UserError(ValueError):
    """A user operation that cannot be done as asked (duplicate name, unknown role...)."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user, or the anonymous admin of an open-mode gateway."""

    name: str
    role: str
    recycler: str | None = None
    via: str = "token"  # token | session | open

    @property
    def tenant(self) -> str | None:
        """The recycler id to filter by, or None when this principal sees every lot."""
        return (self.recycler or self.name) if self.role == "recycler" else None


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


class AuthRepo:
    """Data access over the store's connection (SQLite ``store.conn``; PostgreSQL ``store.pool``)."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def _run(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        conn = getattr(self.store, "conn", None)
        if isinstance(conn, sqlite3.Connection):
            return conn.execute(sql, params).fetchall()
        pool = getattr(self.store, "pool", None)
        if pool is None:
            raise RuntimeError(f"{type(self.store).__name__} exposes no SQL connection for users/sessions")
        with pool.connection() as pg:  # psycopg_pool: commits on a clean exit
            cursor = pg.execute(sql.replace("?", "%s"), params)
            return cursor.fetchall() if cursor.description else []

    # -- users -------------------------------------------------------------------------------------
    def add_user(self, name: str, role: str, recycler: str | None = None) -> str:
        """Create a user; returns its token (shown once, stored hashed)."""
        if role not in ROLES:
            raise UserError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
        if not name or len(name) > 128 or not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
            raise UserError(f"bad user name {name!r}: letters, digits, '-', '_', '.' (max 128)")
        if recycler is not None and role != "recycler":
            raise UserError("--recycler only applies to role 'recycler'")
        if self._run("SELECT 1 FROM api_users WHERE name = ?", (name,)):
            raise UserError(f"user {name!r} exists (use 'rotate' for a new token)")
        new = tokens.mint()
        self._run("INSERT INTO api_users (name, role, recycler, token_id, token_hash, created_at) VALUES (?,?,?,?,?,?)",
                  (name, role, recycler if role != "recycler" else (recycler or name), new.token_id, new.token_hash,
                   now_iso()))
        return new.token

    def rotate(self, name: str) -> str:
        new = tokens.mint()
        if not self._run("SELECT 1 FROM api_users WHERE name = ?", (name,)):
            raise UserError(f"no user {name!r}")
        self._run("UPDATE api_users SET token_id = ?, token_hash = ?, revoked_at = NULL WHERE name = ?",
                  (new.token_id, new.token_hash, name))
        self._run("DELETE FROM api_sessions WHERE name = ?", (name,))
        return new.token

    def revoke(self, name: str) -> None:
        if not self._run("SELECT 1 FROM api_users WHERE name = ?", (name,)):
            raise UserError(f"no user {name!r}")
        self._run("UPDATE api_users SET revoked_at = ? WHERE name = ?", (now_iso(), name))
        self._run("DELETE FROM api_sessions WHERE name = ?", (name,))

    def list_users(self) -> list[dict[str, Any]]:
        rows = self._run("SELECT name, role, recycler, token_id, created_at, revoked_at FROM api_users ORDER BY name")
        keys = ("name", "role", "recycler", "token_id", "created_at", "revoked_at")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def authenticate(self, token: str) -> Principal | None:
        parsed = tokens.parse(token)
        if parsed is None:
            return None
        rows = self._run("SELECT name, role, recycler, token_hash FROM api_users WHERE token_id = ? "
                         "AND revoked_at IS NULL", (parsed[0],))
        if not rows or not tokens.matches(parsed[1], rows[0][3]):
            return None
        return Principal(rows[0][0], rows[0][1], rows[0][2], via="token")

    # -- dashboard sessions ------------------------------------------------------------------------
    def create_session(self, principal: Principal, ttl_s: int) -> str:
        value, digest = tokens.new_session_id()
        now = datetime.now(UTC)
        self._run("DELETE FROM api_sessions WHERE expires_at < ?", (now.isoformat(),))
        self._run("INSERT INTO api_sessions (session_hash, name, created_at, expires_at) VALUES (?,?,?,?)",
                  (digest, principal.name, now.isoformat(), (now + timedelta(seconds=ttl_s)).isoformat()))
        return value

    def session(self, value: str) -> Principal | None:
        if not value or len(value) > 100:
            return None
        rows = self._run("SELECT u.name, u.role, u.recycler FROM api_sessions s JOIN api_users u ON u.name = s.name "
                         "WHERE s.session_hash = ? AND s.expires_at > ? AND u.revoked_at IS NULL",
                         (tokens.hash_secret(value), now_iso()))
        return Principal(rows[0][0], rows[0][1], rows[0][2], via="session") if rows else None

    def end_session(self, value: str) -> None:
        self._run("DELETE FROM api_sessions WHERE session_hash = ?", (tokens.hash_secret(value),))

    # -- lot tenancy -------------------------------------------------------------------------------
    def set_lot_recycler(self, lot_id: str, recycler: str | None) -> bool:
        """Address a lot (and its evidence) to a recycler; False when the lot does not exist."""
        if not self._run("SELECT 1 FROM lots WHERE lot_id = ?", (lot_id,)):
            return False
        self._run("UPDATE lots SET recycler = ?, updated_at = ? WHERE lot_id = ?", (recycler, now_iso(), lot_id))
        return True
