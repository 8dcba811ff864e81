"""A moving-window rate limiter on shared storage (Redis) that keeps counting in this process
while the storage is unreachable, and goes back to the shared counters once it answers again.

A login must not fail because its rate-limit counter could not be reached: while Redis is down
each process counts alone (its own full budget, so N workers allow up to N times the limit),
which still stops a single client's guessing. The outage is recorded once
(:mod:`idp.core.dependency_outages`); Redis is tried again after a back-off that doubles from
``RETRY_FIRST_SECONDS`` up to ``RETRY_MAX_SECONDS``, by one request at a time, so a dead Redis
costs almost nothing per request. Flask-Limiter's ``in_memory_fallback`` follows the same pattern.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from limits import RateLimitItem
from limits.errors import StorageError
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from redis.backoff import NoBackoff
from redis.retry import Retry

from idp.core.dependency_outages import report_outage, report_recovery

DEPENDENCY = "redis"
RETRY_FIRST_SECONDS = 0.5
RETRY_MAX_SECONDS = 8.0
#: Redis answers a loopback or LAN request in well under a millisecond; a Redis that does not
#: answer in this time is treated as down, rather than holding a login for redis-py's defaults.
REDIS_TIMEOUT_SECONDS = 0.5
#: One retry on a fresh connection replaces a pooled socket Redis closed (say, at its restart);
#: more would only make a request wait longer for a Redis that is down.
REDIS_RETRY = Retry(NoBackoff(), 1)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    #: Seconds until the window has room again (meaningful when not allowed).
    retry_after: int


class FallbackRateLimiter:
    """``hit(budget, *identifiers)`` against the Redis at ``redis_url``; with none, this
    process's own counters only."""

    def __init__(self, redis_url: str = ""):
        self.shared = MovingWindowRateLimiter(storage_from_string(
            redis_url, wrap_exceptions=True, socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            # limits hands these to redis, whose ``retry`` takes a Retry; limits types them as scalars.
            socket_timeout=REDIS_TIMEOUT_SECONDS, retry=REDIS_RETRY,  # type: ignore[arg-type]
        )) if redis_url else None
        self.local = MovingWindowRateLimiter(MemoryStorage())
        self._lock = threading.Lock()
        #: While the shared storage is down: when to try it next, and the back-off after that.
        self._retry_at: float | None = None
        self._backoff = RETRY_FIRST_SECONDS

    def hit(self, budget: RateLimitItem, *identifiers: str) -> Verdict:
        """Count one request against ``budget``; not allowed once the budget is spent."""
        if self.shared is not None and self._may_try_shared():
            try:
                verdict = self._hit(self.shared, budget, identifiers)
            except StorageError as error:
                self._failed(error.storage_error)
            else:
                self._answered()
                return verdict
        return self._hit(self.local, budget, identifiers)

    @staticmethod
    def _hit(limiter: MovingWindowRateLimiter, budget: RateLimitItem, identifiers: tuple[str, ...]) -> Verdict:
        if limiter.hit(budget, *identifiers):
            return Verdict(True, 0)
        reset = limiter.get_window_stats(budget, *identifiers).reset_time
        return Verdict(False, max(1, int(reset - time.time())))

    def _may_try_shared(self) -> bool:
        if self._retry_at is None:
            return True
        with self._lock:
            if self._retry_at is None:
                return True
            if time.monotonic() < self._retry_at:
                return False
            # This request probes the storage; the others keep counting locally meanwhile.
            self._retry_at = time.monotonic() + self._backoff
            return True

    def _failed(self, error: BaseException) -> None:
        with self._lock:
            if self._retry_at is None:
                self._backoff = RETRY_FIRST_SECONDS
            else:
                self._backoff = min(self._backoff * 2, RETRY_MAX_SECONDS)
            self._retry_at = time.monotonic() + self._backoff
        report_outage(DEPENDENCY, error, "rate limits are counted per process until it answers")

    def _answered(self) -> None:
        if self._retry_at is None:
            return
        with self._lock:
            self._retry_at = None
            self._backoff = RETRY_FIRST_SECONDS
        report_recovery(DEPENDENCY)
