"""The gateway schema as ordered migrations of plain SQL, written to run on SQLite and PostgreSQL alike.

Append new migrations at the end; never edit an applied one. ``{autoid}`` is the dialect's
auto-increment primary key and ``{blob}`` its binary type.
"""

from __future__ import annotations

MIGRATIONS: list[tuple[str, list[str]]] = [
    ("0001_core", [
        """CREATE TABLE messages (
            agent TEXT NOT NULL, msg_id TEXT NOT NULL, session TEXT NOT NULL, seq BIGINT NOT NULL,
            kind TEXT NOT NULL, received_at TEXT NOT NULL, PRIMARY KEY (agent, msg_id))""",
        "CREATE INDEX messages_seq ON messages (agent, session, seq)",
        """CREATE TABLE readings (
            agent TEXT NOT NULL, msg_id TEXT NOT NULL, idx INTEGER NOT NULL,
            site TEXT NOT NULL, line TEXT NOT NULL, device TEXT NOT NULL, device_seq BIGINT NOT NULL,
            ts TEXT NOT NULL, kind TEXT NOT NULL, value DOUBLE PRECISION, unit TEXT, status TEXT,
            lot_id TEXT, data TEXT NOT NULL, PRIMARY KEY (agent, msg_id, idx))""",
        "CREATE INDEX readings_lot ON readings (lot_id, kind)",
        "CREATE INDEX readings_device ON readings (agent, device, device_seq)",
        """CREATE TABLE lots (
            lot_id TEXT PRIMARY KEY, site TEXT NOT NULL, line TEXT NOT NULL, agent TEXT NOT NULL,
            status TEXT NOT NULL, opened_at TEXT NOT NULL, closed_at TEXT, close_reason TEXT,
            net_mass_kg DOUBLE PRECISION NOT NULL DEFAULT 0, n_weighings INTEGER NOT NULL DEFAULT 0,
            devices TEXT NOT NULL DEFAULT '[]', measurement TEXT NOT NULL DEFAULT '{}',
            recycler TEXT, updated_at TEXT NOT NULL)""",
        "CREATE INDEX lots_line ON lots (line, opened_at)",
        """CREATE TABLE agents (
            agent TEXT PRIMARY KEY, site TEXT NOT NULL, line TEXT NOT NULL, session TEXT NOT NULL,
            state TEXT NOT NULL, at TEXT NOT NULL, outbox_depth INTEGER NOT NULL DEFAULT 0,
            outbox_oldest_age_s DOUBLE PRECISION NOT NULL DEFAULT 0, open_lot TEXT, alarms TEXT NOT NULL DEFAULT '[]')""",
        """CREATE TABLE devices (
            agent TEXT NOT NULL, device TEXT NOT NULL, site TEXT NOT NULL, line TEXT NOT NULL,
            driver TEXT, state TEXT, last_reading_at TEXT, frames_ok BIGINT NOT NULL DEFAULT 0,
            frames_bad BIGINT NOT NULL DEFAULT 0, reconnects BIGINT NOT NULL DEFAULT 0, last_error TEXT,
            updated_at TEXT NOT NULL, PRIMARY KEY (agent, device))""",
        """CREATE TABLE dead_letters (
            id {autoid}, topic TEXT NOT NULL, payload {blob} NOT NULL, reason TEXT NOT NULL,
            received_at TEXT NOT NULL)""",
        """CREATE TABLE commands (
            cmd_id TEXT PRIMARY KEY, line TEXT NOT NULL, action TEXT NOT NULL, lot_id TEXT,
            agents TEXT NOT NULL, issued_at TEXT NOT NULL, issued_by TEXT)""",
    ]),
]

SQLITE_DIALECT = {"autoid": "INTEGER PRIMARY KEY AUTOINCREMENT", "blob": "BLOB"}
POSTGRES_DIALECT = {"autoid": "BIGSERIAL PRIMARY KEY", "blob": "BYTEA"}

# API users (token hashes only) and dashboard sessions (gateway/auth).
MIGRATIONS.append(("0200_api_auth", [
    """CREATE TABLE api_users (
        name TEXT PRIMARY KEY, role TEXT NOT NULL, recycler TEXT, token_id TEXT NOT NULL UNIQUE,
        token_hash TEXT NOT NULL, created_at TEXT NOT NULL, revoked_at TEXT)""",
    """CREATE TABLE api_sessions (
        session_hash TEXT PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL, expires_at TEXT NOT NULL)""",
    "CREATE INDEX lots_recycler ON lots (recycler, opened_at)",
]))
