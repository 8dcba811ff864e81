"""``/healthz`` and ``/readyz``, for load balancers and orchestrators (docs/operations.md).

``/healthz``: the process answers; nothing else is checked, so a database outage never gets
healthy workers restarted. ``/readyz``: this worker can serve logins now (database, Redis when
configured, signing keys); 503 takes the node out of the balancer until it recovers.
"""

from __future__ import annotations

from flask import Blueprint, current_app

bp = Blueprint("health", __name__)

NO_STORE = {"Cache-Control": "no-store"}


@bp.get("/healthz")
def healthz():
    """Alive: answered by the worker itself, whatever its dependencies do."""
    return {"status": "ok"}, 200, NO_STORE


@bp.get("/readyz")
def readyz():
    """Ready: 200 when every check passes, else 503; each check's result either way."""
    results = current_app.extensions["idp.readiness"].check()
    ready = all(result.ok for result in results.values())
    body = {"status": "ok" if ready else "unavailable",
            "checks": {name: result.as_dict() for name, result in results.items()}}
    return body, 200 if ready else 503, NO_STORE
