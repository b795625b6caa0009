"""``SqlStore``: the ``Store`` protocol over any ``Database`` (the dialect is the database's business).

The store owns its database object (``store.db``) and hands it to every repository (traceability,
composition, specs, auth, upload), so the gateway reaches SQL through one object.
"""

from __future__ import annotations

import json

from gateway.store.base import DeadLetter, Incoming
from gateway.store.db import Database
from gateway.store.reads import StoreReads
from gateway.store.schema import MIGRATION_SET, MIGRATIONS
from gateway.store.sql import DEFAULT_OPTIONS, BatchWriter, WriteOptions
from junkan.core.messages import AckItem, CommandMessage, StatusMessage


class SqlStore(StoreReads):
    """Writes (the ingest batch, operator commands) and the reads of ``StoreReads`` over ``db``;
    migrations are applied on construction."""

    def __init__(self, db: Database) -> None:
        self.db = db
        db.migrate(MIGRATION_SET, MIGRATIONS)

    def commit_batch(
        self, incoming: list[Incoming], dead: list[DeadLetter], statuses: list[StatusMessage],
        options: WriteOptions = DEFAULT_OPTIONS,
    ) -> list[AckItem]:
        return self.db.batch(lambda execute, executemany, ph: BatchWriter(execute, executemany, ph, options).write(
            incoming, dead, statuses))

    def record_command(self, command: CommandMessage, agents: list[str]) -> None:
        self.db.execute(
            "INSERT INTO commands (cmd_id, line, action, lot_id, agents, issued_at, issued_by) "
            "VALUES (?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
            (command.cmd_id, command.line, command.action, command.lot_id, json.dumps(agents),
             command.issued_at.isoformat(), command.issued_by))

    def close(self) -> None:
        self.db.close()
