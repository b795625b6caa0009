"""The status message is built even when the outbox cannot be read, and says so (never a silent depth)."""

from __future__ import annotations

from types import SimpleNamespace

from edge_agent.app import build_status
from junkan.core.topics import AgentTopics


def _broken() -> tuple[int, float]:
    raise OSError("disk I/O error")


def test_status_with_an_unreadable_outbox_names_the_trouble() -> None:
    core = SimpleNamespace(live_lot=lambda: None, alarms=[], clock_status=None)
    outbox = SimpleNamespace(depth=_broken, schema_version=lambda: 2)
    status = build_status(SimpleNamespace(devices=[]), AgentTopics("s", "l", "a"), "sess", "online", {},  # type: ignore[arg-type]
                          core, outbox)  # type: ignore[arg-type]
    assert any(a.startswith("outbox unreadable: disk I/O error") for a in status.alarms)
    assert status.outbox_depth == 0
