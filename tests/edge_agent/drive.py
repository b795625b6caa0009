"""Driving the agent core in tests: run its loop until the queued events are committed, read what it wrote."""

from __future__ import annotations

import json
import threading
import time

from edge_agent.core import AgentCore
from edge_agent.publishing.outbox import SqliteOutbox


def run_until_drained(core: AgentCore, settle_s: float = 0.3) -> None:
    """Run the core until its queue is empty (at most 5 s), let it commit, then stop it."""
    stop = threading.Event()
    thread = threading.Thread(target=core.run, args=(stop,))
    thread.start()
    deadline = time.monotonic() + 5
    while not core.events.empty() and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(settle_s)
    stop.set()
    thread.join(5)


def readings_in(outbox: SqliteOutbox) -> list[dict]:  # type: ignore[type-arg]
    out = []
    for msg in outbox.after(0, 100_000):
        if msg.kind == "reading":
            out += json.loads(msg.payload)["body"]["readings"]
    return out
