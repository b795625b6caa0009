"""Replay dead letters after a fix (a wider clock window, a corrected ACL, a new release): each stored
payload goes through today's validation and the store's write path again, as if it had just arrived.

What is replayed is marked (``replayed_at``, ``replay_result``) so a second run does not store it twice
(it would be a ``duplicate`` anyway: the (agent, msg_id) key). A payload kept only as its head (over the
agent's byte budget, or too large) cannot be replayed: the agent still holds it in its ``rejected`` table.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gateway.ingest.validate import IngestPolicy, validate
from gateway.store.base import Incoming, Store
from junkan.core.messages import StatusMessage


def select(store: Store, ids: list[int] | None, reason: str | None, limit: int) -> list[int]:
    """Ids to replay: the given ones, or the not yet replayed ones with this reason code (oldest first)."""
    if ids:
        return ids
    rows = store.dead_letters(limit, reason=reason, include_payload=False)
    return sorted(int(r["id"]) for r in rows if r["replayed_at"] is None)


def replay_one(store: Store, letter_id: int, policy: IngestPolicy) -> dict[str, Any]:
    found = store.dead_letter_payload(letter_id)
    if found is None:
        return {"id": letter_id, "result": "missing"}
    topic, payload, truncated = found
    if truncated:
        result = "skipped: only the payload's head was kept"
    else:
        checked = validate(topic, payload, policy)
        if isinstance(checked, Incoming):
            (ack,) = store.commit_batch([checked], [], [])
            result = ack.result if ack.result != "rejected" else f"rejected: {ack.reason}"
        elif isinstance(checked, StatusMessage):
            store.commit_batch([], [], [checked])
            result = "stored"
        else:
            result = f"still refused: {checked.reason[:300]}"
    done = result in ("stored", "duplicate")
    store.db.execute("UPDATE dead_letters SET replay_result = ?, replayed_at = ? WHERE id = ?",
                     (result[:500], datetime.now(UTC).isoformat() if done else None, letter_id))
    return {"id": letter_id, "topic": topic, "result": result}
