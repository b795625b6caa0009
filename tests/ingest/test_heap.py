"""The gateway's start-up GC settings (gateway/ingest/heap.py) apply and undo cleanly."""

from __future__ import annotations

import gc

from gateway.ingest.heap import GEN0_THRESHOLD, release_heap, settle_heap


def test_settle_freezes_and_raises_then_release_restores() -> None:
    original = gc.get_threshold()
    before = settle_heap()
    try:
        assert before == original
        assert gc.get_freeze_count() > 0  # the modules imported so far left the collector's walks
        assert gc.get_threshold() == (max(original[0], GEN0_THRESHOLD), original[1], original[2])
        assert gc.isenabled()  # cycles are still collected, only less often
    finally:
        release_heap(before)
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == original
