"""Users, tokens and dashboard sessions in the gateway store (tables from migration ``api_auth``).

Only hashes are stored: a token or session value never reaches the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, cast

from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict  # pydantic needs typing_extensions' TypedDict on 3.11

from gateway.auth import tokens
from gateway.auth.policy import ROLES
from gateway.store.db import Database, Params, now_iso


class LastAdminError(ValueError):
    """Revoking this user would leave no admin: nobody could manage users any more (409)."""


ADMIN_LOCK = 0x6A6B61646D  # "jkadm": PostgreSQL serialises concurrent revokes of admins on it


class UserError(ValueError):
    """A user operation that cannot be done as asked (duplicate name, unknown role...)."""


@with_config(ConfigDict(extra="forbid"))
class UserRow(TypedDict):
    """``api_users`` as listed: every column but the token's hash (the API's response model)."""

    name: str
    role: str
    recycler: str | None
    token_id: Annotated[str, Field(description="Public half of the token (the secret is never stored).")]
    created_at: str
    revoked_at: str | None


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


class AuthRepo:
    """Users, tokens and sessions over the store's database object."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _exists(self, sql: str, params: Params) -> bool:
        return self.db.one(sql, params) is not None

    # -- users -------------------------------------------------------------------------------------
    def add_user(self, name: str, role: str, recycler: str | None = None) -> str:
        """Create a user; returns its token (shown once, stored hashed)."""
        if role not in ROLES:
            raise UserError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
        if not name or len(name) > 128 or not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
            raise UserError(f"bad user name {name!r}: letters, digits, '-', '_', '.' (max 128)")
        if recycler is not None and role != "recycler":
            raise UserError("--recycler only applies to role 'recycler'")
        new = tokens.mint()
        with self.db.tx():
            if self._exists("SELECT 1 FROM api_users WHERE name = ?", (name,)):
                raise UserError(f"user {name!r} exists (use 'rotate' for a new token)")
            self.db.execute("INSERT INTO api_users (name, role, recycler, token_id, token_hash, created_at) "
                            "VALUES (?,?,?,?,?,?)",
                            (name, role, recycler if role != "recycler" else (recycler or name), new.token_id,
                             new.token_hash, now_iso()))
        return new.token

    def rotate(self, name: str) -> str:
        new = tokens.mint()
        with self.db.tx():
            if not self._exists("SELECT 1 FROM api_users WHERE name = ?", (name,)):
                raise UserError(f"no user {name!r}")
            self.db.execute("UPDATE api_users SET token_id = ?, token_hash = ?, revoked_at = NULL WHERE name = ?",
                            (new.token_id, new.token_hash, name))
            self.db.execute("DELETE FROM api_sessions WHERE name = ?", (name,))
        return new.token

    def revoke(self, name: str) -> None:
        with self.db.tx():
            if self.db.dialect.name == "postgres":  # two admins revoking each other at once: one waits
                self.db.execute("SELECT pg_advisory_xact_lock(?)", (ADMIN_LOCK,))
            if not self._exists("SELECT 1 FROM api_users WHERE name = ?", (name,)):
                raise UserError(f"no user {name!r}")
            if (self._exists("SELECT 1 FROM api_users WHERE name = ? AND role = 'admin' AND revoked_at IS NULL",
                             (name,))
                    and int(self.db.scalar("SELECT COUNT(*) FROM api_users WHERE role = 'admin' "
                                           "AND revoked_at IS NULL")) <= 1):
                raise LastAdminError(f"{name!r} is the last admin: add another admin first")
            self.db.execute("UPDATE api_users SET revoked_at = ? WHERE name = ?", (now_iso(), name))
            self.db.execute("DELETE FROM api_sessions WHERE name = ?", (name,))

    def list_users(self) -> list[UserRow]:
        return cast(list[UserRow], self.db.rows("SELECT name, role, recycler, token_id, created_at, revoked_at "
                                                "FROM api_users ORDER BY name"))

    def authenticate(self, token: str) -> Principal | None:
        parsed = tokens.parse(token)
        if parsed is None:
            return None
        row = self.db.one("SELECT name, role, recycler, token_hash FROM api_users WHERE token_id = ? "
                          "AND revoked_at IS NULL", (parsed[0],))
        if row is None or not tokens.matches(parsed[1], row["token_hash"]):
            return None
        return Principal(row["name"], row["role"], row["recycler"], via="token")

    # -- dashboard sessions ------------------------------------------------------------------------
    def create_session(self, principal: Principal, ttl_s: int) -> str:
        value, digest = tokens.new_session_id()
        now = datetime.now(UTC)
        with self.db.tx():
            self.db.execute("DELETE FROM api_sessions WHERE expires_at < ?", (now.isoformat(),))
            self.db.execute("INSERT INTO api_sessions (session_hash, name, created_at, expires_at) VALUES (?,?,?,?)",
                            (digest, principal.name, now.isoformat(), (now + timedelta(seconds=ttl_s)).isoformat()))
        return value

    def session(self, value: str) -> Principal | None:
        if not value or len(value) > 100:
            return None
        row = self.db.one("SELECT u.name, u.role, u.recycler FROM api_sessions s JOIN api_users u "
                          "ON u.name = s.name WHERE s.session_hash = ? AND s.expires_at > ? AND u.revoked_at IS NULL",
                          (tokens.hash_secret(value), now_iso()))
        return Principal(row["name"], row["role"], row["recycler"], via="session") if row else None

    def end_session(self, value: str) -> None:
        self.db.execute("DELETE FROM api_sessions WHERE session_hash = ?", (tokens.hash_secret(value),))

    # -- lot tenancy -------------------------------------------------------------------------------
    def set_lot_recycler(self, lot_id: str, recycler: str | None) -> bool:
        """Address a lot (and its evidence) to a recycler; False when the lot does not exist."""
        return bool(self.db.execute("UPDATE lots SET recycler = ?, updated_at = ? WHERE lot_id = ?",
                                    (recycler, now_iso(), lot_id)))
