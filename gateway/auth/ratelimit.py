"""Authentication-failure limiter: per client IP, a sliding one-minute window.

Lives on ``app.state`` (one per process); with several gateway workers each counts its own share, so
the effective limit is per worker — documented in docs/security.md.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class FailureLimiter:
    def __init__(self, max_failures: int, window_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic, max_clients: int = 10_000) -> None:
        self.max_failures, self.window_s, self.clock, self.max_clients = max_failures, window_s, clock, max_clients
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._failures.get(client)
        if times is None:
            return deque()
        while times and now - times[0] >= self.window_s:
            times.popleft()
        if not times:
            del self._failures[client]
        return times

    def blocked_for(self, client: str) -> float:
        """Seconds until this client may try again (0 when it may try now)."""
        with self._lock:
            now = self.clock()
            times = self._recent(client, now)
            if len(times) < self.max_failures:
                return 0.0
            return max(0.0, self.window_s - (now - times[-self.max_failures]))

    def record_failure(self, client: str) -> None:
        with self._lock:
            now = self.clock()
            if client not in self._failures and len(self._failures) >= self.max_clients:
                self._evict(now)
            self._failures.setdefault(client, deque()).append(now)
            times = self._failures[client]
            while len(times) > self.max_failures:  # older entries no longer matter to the decision
                times.popleft()

    def _evict(self, now: float) -> None:
        """Bound memory under a spray of source addresses: drop expired entries, then the oldest."""
        for client in list(self._failures):
            self._recent(client, now)
        while len(self._failures) >= self.max_clients:
            oldest = min(self._failures, key=lambda c: self._failures[c][-1])
            del self._failures[oldest]
