"""The provider's Prometheus metrics, and the small functions the code counts with.

Every ``idp serve`` worker is a process of its own, so prometheus-client runs in its
multi-process mode there: each worker writes its values to files in ``PROMETHEUS_MULTIPROC_DIR``
and the exporter of the serving process (:mod:`idp.web.metrics_exporter`) adds them up when scraped.
prometheus-client picks where values live when it is first imported, and ``idp serve`` makes that
folder only once it runs, after the ``idp`` command imported every module: so the metrics are
created on first use, not at import. Outside ``idp serve`` (tests, other commands) they live in
memory.

Labels take values from the code only (endpoint names, grant types, factor names), never from a
request, so the number of series stays bounded.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported for real on first use only: see the module docstring
    from prometheus_client import Counter, Gauge, Histogram

#: Request latency buckets in seconds: token endpoint answers in milliseconds; QR login pages'
#: long polls wait up to ``QR_WAIT_SECONDS`` (20 s).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: Audited login events that record a login session (made, or made stronger), not one factor's check.
LOGIN_SESSION_EVENTS = {"succeeded": "login", "step_up": "step_up"}


@dataclass(frozen=True)
class Metrics:
    requests: Histogram
    login_attempts: Counter
    logins: Counter
    lockouts: Counter
    sms: Counter
    tokens_issued: Counter
    qr_decisions: Counter
    backchannel_logouts: Counter
    dependency_outages: Counter
    workers: Gauge


def _create() -> Metrics:
    # Imported here, not at the top: see the module docstring.
    from prometheus_client import Counter, Gauge, Histogram

    return Metrics(
        requests=Histogram(
            "idp_http_request_duration_seconds",
            "Requests answered, by Flask endpoint (or 'unmatched'), method and status; _count counts them.",
            ("endpoint", "method", "status"), buckets=LATENCY_BUCKETS),
        login_attempts=Counter(
            "idp_login_attempts_total", "Login steps checked, by method (password, sms, face, webauthn, otp, "
            "certificate, certificate.person, legacy) and outcome.", ("method", "outcome")),
        logins=Counter("idp_logins_total", "Login sessions made (kind=login) or made stronger (kind=step_up).",
                       ("kind", "acr")),
        lockouts=Counter("idp_lockouts_total", "Login methods locked for the day after repeated failures.",
                         ("method",)),
        sms=Counter("idp_sms_messages_total", "SMS codes handed to the gateway (sent) or refused by it (failed).",
                    ("purpose", "outcome")),
        tokens_issued=Counter("idp_tokens_issued_total", "Token responses issued by the token endpoint, by grant.",
                              ("grant_type",)),
        qr_decisions=Counter("idp_qr_decisions_total", "QR login decisions by the scanning app (approved, denied) "
                             "and decisions refused (expired, already decided, another app's scan).",
                             ("decision",)),
        backchannel_logouts=Counter(
            "idp_backchannel_logouts_total", "Back-channel logout messages delivered, retried after a failure, "
            "given up, or dropped because the queue was full.", ("outcome",)),
        dependency_outages=Counter("idp_dependency_outages_total",
                                   "Failed calls to a dependency the provider carried on without.", ("dependency",)),
        workers=Gauge("idp_workers", "Serving worker processes alive.", multiprocess_mode="livesum"),
    )


_lock = threading.Lock()
_metrics: Metrics | None = None


def metrics() -> Metrics:
    """The metrics of this process, created on first use."""
    global _metrics
    if _metrics is None:
        with _lock:
            if _metrics is None:
                _metrics = _create()
    return _metrics


def count_login_event(step: str, outcome: str, acr: str | None) -> None:
    """An audited ``login.<step>`` event: a factor's check, or a login session made or stepped up."""
    kind = LOGIN_SESSION_EVENTS.get(step)
    if kind is None:
        metrics().login_attempts.labels(step, outcome).inc()
    else:
        metrics().logins.labels(kind, acr or "none").inc()


def count_lockout(method: str) -> None:
    """``method`` locked for the rest of the day (idp/factors/lockout.py)."""
    metrics().lockouts.labels(method).inc()


def count_sms(purpose: str, outcome: str) -> None:
    """An SMS code the gateway accepted (``sent``) or refused (``failed``)."""
    metrics().sms.labels(purpose, outcome).inc()


def count_token_issued(grant_type: str) -> None:
    """A token response of the grant ``grant_type`` (as the client sent it: a registered grant)."""
    metrics().tokens_issued.labels(grant_type).inc()


def count_qr_decision(decision: str) -> None:
    """A QR login ``approved`` or ``denied`` by the scanning app, or a decision ``refused``."""
    metrics().qr_decisions.labels(decision).inc()


def count_backchannel_logouts(outcome: str, messages: int = 1) -> None:
    """Logout messages ``delivered``, ``retrying``, ``failed`` (given up) or ``dropped`` (queue full)."""
    if messages:
        metrics().backchannel_logouts.labels(outcome).inc(messages)


def count_dependency_outage(dependency: str) -> None:
    """An outage of ``dependency`` ("database", "redis") began, as one worker saw it
    (idp/core/dependency_outages.py: once per outage and process, not per failed request)."""
    metrics().dependency_outages.labels(dependency).inc()


def mark_worker_alive() -> None:
    """Counted in ``idp_workers`` until the process ends (the exporter drops dead workers)."""
    metrics().workers.set(1)
