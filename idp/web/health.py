"""``/healthz`` and ``/readyz``, for load balancers and orchestrators (docs/operations.md).

``/healthz``: the process answers; nothing else is checked, so a database outage never gets
healthy workers restarted. ``/readyz``: this worker can serve logins now (database, Redis when
configured, signing keys); 503 takes the node out of the balancer until it recovers. A Redis
outage only degrades the node (rate limits counted per node, docs/operations.md): it answers 200
with status "degraded", since taking every node out for it would stop the logins that go on.
"""

from __future__ import annotations

from flask import Blueprint, current_app

bp = Blueprint("health", __name__)

NO_STORE = {"Cache-Control": "no-store"}
#: Checks whose failure leaves the node serving, degraded.
DEGRADABLE_CHECKS = frozenset({"redis"})


@bp.get("/healthz")
def healthz():
    """Alive: answered by the worker itself, whatever its dependencies do."""
    return {"status": "ok"}, 200, NO_STORE


@bp.get("/readyz")
def readyz():
    """Ready: 200 when every required check passes ("degraded" when one the provider carries on
    without fails), else 503; each check's result either way."""
    results = current_app.extensions["idp.readiness"].check()
    failed = {name for name, result in results.items() if not result.ok}
    ready = failed <= DEGRADABLE_CHECKS
    status = "unavailable" if not ready else "degraded" if failed else "ok"
    body = {"status": status, "checks": {name: result.as_dict() for name, result in results.items()}}
    return body, 200 if ready else 503, NO_STORE
