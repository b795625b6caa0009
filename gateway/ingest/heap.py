"""The gateway process's garbage-collector settings, applied once start-up is over.

Why: a batch holds its messages' objects (models, dicts, datetimes, row tuples) until its commit, so
with CPython's default first-generation threshold (700) the cyclic collector ran about once per 70
messages, walked the whole batch, moved it to older generations and now and then re-walked every object
the imports left behind (measured: ~4% of the instructions per one-reading message). Freezing what is
alive after start-up takes the imports out of those walks; a higher threshold lets a batch's objects
die by reference counting (they form no cycles) before a collection looks at them. Cycles that do form
are still collected, only less often.
"""

from __future__ import annotations

import gc

GEN0_THRESHOLD = 10_000  # tracked allocations (net of frees) between first-generation collections


def settle_heap() -> tuple[int, int, int]:
    """Collect, freeze what survives (modules, settings, the app) and raise the first-generation
    threshold. Returns the thresholds before, for ``release_heap``."""
    before = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(max(before[0], GEN0_THRESHOLD), before[1], before[2])
    return before


def release_heap(before: tuple[int, int, int]) -> None:
    """Undo ``settle_heap`` (a host process that runs the gateway in-process, such as a test or the
    benchmark, goes on collecting as before)."""
    gc.unfreeze()
    gc.set_threshold(*before)
