"""At most once per interval in this worker, and never twice at once: the gate shared by the
housekeeping that requests start (the session sweep, the retention purge)."""

from __future__ import annotations

import threading
import time


class IntervalGate:
    def __init__(self, interval: float):
        self.interval = interval
        self._inside = threading.Lock()
        # The first request of a process passes: a restart never postpones overdue work.
        self._last = float("-inf")

    def enter(self) -> bool:
        """True when the interval has passed and nobody is inside; the caller then must :meth:`leave`."""
        if time.monotonic() - self._last < self.interval or not self._inside.acquire(blocking=False):
            return False
        self._last = time.monotonic()
        return True

    def leave(self) -> None:
        self._inside.release()

    @property
    def busy(self) -> bool:
        return self._inside.locked()
