"""The gateway schema as ordered migrations of plain SQL, written to run on SQLite and PostgreSQL alike.

Append new migrations at the end; never edit an applied one. ``{autoid}`` is the dialect's
auto-increment primary key and ``{blob}`` its binary type (``Dialect.ddl`` of each database class).
"""

from __future__ import annotations

MIGRATION_SET = "junkan-gateway"

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
            outbox_oldest_age_s DOUBLE PRECISION NOT NULL DEFAULT 0, open_lot TEXT,
            alarms TEXT NOT NULL DEFAULT '[]')""",
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


# Traceability and composition evidence (gateway/composition, traceability, specs, evidence, upload).
MIGRATIONS.append(("0100_traceability_evidence", [
    """CREATE TABLE comp_products (
        product_id TEXT PRIMARY KEY, model TEXT NOT NULL, model_norm TEXT NOT NULL, manufacturer TEXT,
        category TEXT, mass_mg DOUBLE PRECISION, gtin TEXT, declaration_class TEXT, record TEXT NOT NULL,
        source TEXT NOT NULL, source_sha256 TEXT, imported_at TEXT NOT NULL)""",
    "CREATE INDEX comp_products_model ON comp_products (model_norm)",
    "CREATE INDEX comp_products_gtin ON comp_products (gtin)",
    """CREATE TABLE comp_substances (
        product_id TEXT NOT NULL, part TEXT, material TEXT, material_class TEXT,
        material_mass_mg DOUBLE PRECISION, substance TEXT NOT NULL, cas TEXT, mass_mg DOUBLE PRECISION,
        fraction DOUBLE PRECISION, dsl_ref TEXT)""",
    "CREATE INDEX comp_substances_product ON comp_substances (product_id)",
    "CREATE INDEX comp_substances_cas ON comp_substances (cas)",
    """CREATE TABLE comp_imports (
        id {autoid}, source TEXT NOT NULL, format TEXT, sha256 TEXT, imported_at TEXT NOT NULL,
        status TEXT NOT NULL, n_products INTEGER NOT NULL DEFAULT 0, n_skipped INTEGER NOT NULL DEFAULT 0,
        report TEXT NOT NULL DEFAULT '{}')""",
    """CREATE TABLE ident_matches (
        agent TEXT NOT NULL, msg_id TEXT NOT NULL, idx INTEGER NOT NULL, lot_id TEXT, observed TEXT NOT NULL,
        status TEXT NOT NULL, product_id TEXT, model TEXT, method TEXT, score DOUBLE PRECISION,
        candidates TEXT NOT NULL DEFAULT '[]', resolved_by TEXT, updated_at TEXT NOT NULL,
        PRIMARY KEY (agent, msg_id, idx))""",
    "CREATE INDEX ident_matches_lot ON ident_matches (lot_id, status)",
    """CREATE TABLE intake_lots (
        lot_id TEXT PRIMARY KEY, site TEXT, plant TEXT, received_at TEXT NOT NULL, source_stream TEXT NOT NULL,
        consumer TEXT NOT NULL, net_mass_kg DOUBLE PRECISION, doc TEXT NOT NULL, recorded_at TEXT NOT NULL)""",
    """CREATE TABLE intake_products (
        lot_id TEXT NOT NULL, model TEXT NOT NULL, product_id TEXT, manufacturer TEXT, category TEXT,
        n_items INTEGER NOT NULL, mass_kg DOUBLE PRECISION)""",
    "CREATE INDEX intake_products_lot ON intake_products (lot_id)",
    "CREATE INDEX intake_products_model ON intake_products (model)",
    """CREATE TABLE process_steps (
        step_id TEXT PRIMARY KEY, kind TEXT NOT NULL, site TEXT, plant TEXT, started_at TEXT NOT NULL,
        ended_at TEXT NOT NULL, input_mass_kg DOUBLE PRECISION NOT NULL, output_mass_kg DOUBLE PRECISION NOT NULL,
        declared_loss_kg DOUBLE PRECISION NOT NULL, unaccounted_kg DOUBLE PRECISION NOT NULL,
        tolerance DOUBLE PRECISION NOT NULL, balance_ok INTEGER NOT NULL, doc TEXT NOT NULL,
        recorded_at TEXT NOT NULL)""",
    """CREATE TABLE process_flows (
        step_id TEXT NOT NULL, direction TEXT NOT NULL, lot_id TEXT NOT NULL, mass_kg DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (step_id, direction, lot_id))""",
    "CREATE INDEX process_flows_lot ON process_flows (lot_id, direction)",
    """CREATE TABLE balance_alarms (
        id {autoid}, scope TEXT NOT NULL, ref TEXT NOT NULL, raised_at TEXT NOT NULL, detail TEXT NOT NULL,
        cleared_at TEXT)""",
    """CREATE TABLE req_specs (spec_id TEXT PRIMARY KEY, doc TEXT NOT NULL, updated_at TEXT NOT NULL)""",
    """CREATE TABLE rc_claims (
        id {autoid}, manufacturer TEXT NOT NULL, category TEXT NOT NULL, period_start TEXT NOT NULL,
        period_end TEXT NOT NULL, mass_kg DOUBLE PRECISION NOT NULL, reference TEXT, claimed_at TEXT NOT NULL)""",
    """CREATE TABLE upload_outbox (
        id {autoid}, kind TEXT NOT NULL, target TEXT NOT NULL, dedup_key TEXT NOT NULL UNIQUE, payload TEXT NOT NULL,
        headers TEXT NOT NULL DEFAULT '{}', state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL, job_url TEXT, last_error TEXT, created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL)""",
    "CREATE INDEX upload_outbox_due ON upload_outbox (state, next_attempt_at)",
    """CREATE TABLE webhooks (
        recycler TEXT PRIMARY KEY, url TEXT NOT NULL, secret TEXT NOT NULL, created_at TEXT NOT NULL)""",
]))

# API users (token hashes only) and dashboard sessions (gateway/auth).
MIGRATIONS.append(("0200_api_auth", [
    """CREATE TABLE api_users (
        name TEXT PRIMARY KEY, role TEXT NOT NULL, recycler TEXT, token_id TEXT NOT NULL UNIQUE,
        token_hash TEXT NOT NULL, created_at TEXT NOT NULL, revoked_at TEXT)""",
    """CREATE TABLE api_sessions (
        session_hash TEXT PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL, expires_at TEXT NOT NULL)""",
    "CREATE INDEX lots_recycler ON lots (recycler, opened_at)",
]))

# Poison isolation and agent-scoped identity (issue 16): dead letters filed by agent with size and sha256
# (a byte budget per agent keeps only the head past it), replay bookkeeping; lot ids owned by one agent.
MIGRATIONS.append(("0300_ingest_isolation", [
    "ALTER TABLE dead_letters ADD COLUMN agent TEXT",
    "ALTER TABLE dead_letters ADD COLUMN size BIGINT",
    "ALTER TABLE dead_letters ADD COLUMN sha256 TEXT",
    "ALTER TABLE dead_letters ADD COLUMN truncated INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE dead_letters ADD COLUMN replayed_at TEXT",
    "ALTER TABLE dead_letters ADD COLUMN replay_result TEXT",
    # Every worker sees every status (retained, not shared): a bad one is filed once, by its sha256.
    "ALTER TABLE dead_letters ADD COLUMN dedup_key TEXT",
    "CREATE UNIQUE INDEX dead_letters_dedup ON dead_letters (topic, dedup_key)",
    "UPDATE dead_letters SET size = LENGTH(payload)",
    "CREATE INDEX dead_letters_agent ON dead_letters (agent, id)",
    "CREATE INDEX dead_letters_received ON dead_letters (received_at)",
    "CREATE TABLE lot_owners (lot_id TEXT PRIMARY KEY, agent TEXT NOT NULL)",
    "INSERT INTO lot_owners (lot_id, agent) SELECT lot_id, agent FROM lots",
]))

# Recycled-content reporting (issue 17 item 7): each step output's role (NULL: recorded before roles,
# reported as role unknown) and a manufacturer's use of recycled lots per product category.
MIGRATIONS.append(("0410_output_roles_rc_use", [
    "ALTER TABLE process_flows ADD COLUMN role TEXT",
    """CREATE TABLE rc_uses (
        use_id TEXT PRIMARY KEY, manufacturer TEXT NOT NULL, category TEXT NOT NULL, lot_id TEXT NOT NULL,
        supplier TEXT, received_at TEXT NOT NULL, used_at TEXT, received_kg DOUBLE PRECISION NOT NULL,
        used_kg DOUBLE PRECISION NOT NULL, product_model TEXT, doc TEXT NOT NULL, recorded_at TEXT NOT NULL)""",
    "CREATE INDEX rc_uses_period ON rc_uses (manufacturer, received_at)",
]))

# Composition import completeness (issue 17 item 6/8): presence-only declarations, measured non-detects with
# their LOD, and flags (a CAS failing its check digit is kept, flagged) on every substance row.
MIGRATIONS.append(("0420_comp_substance_flags", [
    "ALTER TABLE comp_substances ADD COLUMN declared TEXT",
    "ALTER TABLE comp_substances ADD COLUMN below_lod INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE comp_substances ADD COLUMN lod_fraction DOUBLE PRECISION",
    "ALTER TABLE comp_substances ADD COLUMN flags TEXT NOT NULL DEFAULT '[]'",
]))

# Revocation of issued evidence (gateway/evidence/status.py): one random Bitstring Status List index per
# evidence id; every credential signed for that evidence carries it.
MIGRATIONS.append(("0430_credential_status", [
    """CREATE TABLE credential_status (
        idx INTEGER PRIMARY KEY, evidence_id TEXT NOT NULL UNIQUE, lot_id TEXT NOT NULL, issued_at TEXT NOT NULL,
        revoked_at TEXT, reason TEXT)""",
    "CREATE INDEX credential_status_lot ON credential_status (lot_id)",
]))

# Upload worker (issue 17 item 9, gateway/upload): dedup per (lot, target URL, document hash), so a lot
# re-published to a corrected URL is sent; a lease so one worker (of several processes) delivers a row at a
# time. Additive: rows queued before keep their columns; their target_url is their target (EPCIS).
MIGRATIONS.append(("0460_upload_lease", [
    "ALTER TABLE upload_outbox ADD COLUMN lot_id TEXT",
    "ALTER TABLE upload_outbox ADD COLUMN target_url TEXT",
    "ALTER TABLE upload_outbox ADD COLUMN doc_sha256 TEXT",
    "ALTER TABLE upload_outbox ADD COLUMN lease_owner TEXT",
    "ALTER TABLE upload_outbox ADD COLUMN lease_until TEXT",
    "UPDATE upload_outbox SET target_url = target WHERE kind = 'epcis'",
    "CREATE INDEX upload_outbox_lot ON upload_outbox (lot_id, kind, target_url)",
]))

# Lab confirmations of a lot's brominated flame retardants (issue 17 item 1, gateway/specs/lab.py): the
# validated entry as JSON, the report file's sha256 (the file itself stays with the lab report archive).
MIGRATIONS.append(("0470_lab_confirmations", [
    """CREATE TABLE lab_confirmations (
        confirmation_id TEXT PRIMARY KEY, lot_id TEXT NOT NULL, lab TEXT NOT NULL, analysed_on TEXT NOT NULL,
        report_sha256 TEXT NOT NULL, doc TEXT NOT NULL, entered_by TEXT NOT NULL, entered_at TEXT NOT NULL)""",
    "CREATE INDEX lab_confirmations_lot ON lab_confirmations (lot_id, analysed_on)",
]))
