"""Where this process records that a dependency it needs (the database, Redis) stopped answering,
and that it answers again.

Callers report every failure they see; this keeps one record per dependency, so an outage is
logged once when it begins and once when it ends, however many requests ran into it, and
counted in ``idp_dependency_outages_total`` when it begins. The
records are per process: each worker notices an outage, and its end, by itself.
"""

from __future__ import annotations

import logging
import threading
import time

from idp.core.metrics import count_dependency_outage

log = logging.getLogger(__name__)

_lock = threading.Lock()
#: dependency -> time.monotonic() when this process saw its current outage begin
_outages: dict[str, float] = {}


def report_outage(dependency: str, error: BaseException, effect: str = "") -> bool:
    """Record that ``dependency`` failed with ``error``; True when this begins a new outage
    (logged once, as a warning, with the ``effect`` it has meanwhile), False while the outage
    already on record goes on."""
    with _lock:
        if dependency in _outages:
            return False
        _outages[dependency] = time.monotonic()
    count_dependency_outage(dependency)
    # The first line of the error only: a driver's message names the host and port, never
    # secrets or SQL parameters (the engines hide parameters).
    first_line = next(iter(str(error).strip().splitlines()), "")
    log.warning("dependency outage: %s is unreachable (%s: %s)%s", dependency, type(error).__name__, first_line,
                f"; {effect}" if effect else "")
    return True


def report_recovery(dependency: str) -> bool:
    """Record that ``dependency`` answered; True when this ends an outage (logged once)."""
    if dependency not in _outages:  # the hot path: no lock while nothing is down
        return False
    with _lock:
        began = _outages.pop(dependency, None)
    if began is None:
        return False
    log.warning("dependency recovered: %s answers again after %.1f s", dependency, time.monotonic() - began)
    return True


def current_outages() -> dict[str, float]:
    """Each dependency this process sees as down, with the seconds its outage has lasted so far."""
    now = time.monotonic()
    with _lock:
        return {dependency: now - began for dependency, began in _outages.items()}
