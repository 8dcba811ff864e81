"""Where the housekeeping that requests start is hooked in: before every request but a load
balancer's probe. ``/healthz`` and ``/readyz`` (idp.web.health) must answer within the probe's own
timeout; a sweep or a chaining batch waiting on a database that stopped answering would make a
probe wait with it (7 s instead of 2 s was measured), and a probe is no person's request anyway."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, request

#: The probes of idp.web.health, by endpoint name.
PROBE_ENDPOINTS = frozenset({"health.healthz", "health.readyz"})


def before_ordinary_requests(app: Flask, hook: Callable[[], None]) -> None:
    """Run ``hook`` before each request of ``app`` that is not a probe."""

    def run_unless_probe() -> None:
        if request.endpoint not in PROBE_ENDPOINTS:
            hook()

    app.before_request(run_unless_probe)
