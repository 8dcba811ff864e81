"""Ending login sessions that ran out.

An expired session already stops working for the browser (``current_login``); ending it here
is what revokes its grants and tells its relying parties (back-channel logout).  It runs from
``idp sessions expire`` and, opportunistically, from requests (at most every
``SESSION_SWEEP_SECONDS`` per worker).  The same hook point starts the less frequent retention
purge (:mod:`idp.housekeeping.retention`), which deletes rows once nobody needs them, ended sessions included.
"""

from __future__ import annotations

import logging

from flask import Flask
from sqlalchemy import select

from idp.core.clock import utcnow
from idp.core.database import db
from idp.core.database_outages import log_task_failure
from idp.core.settings import current_settings
from idp.housekeeping.hooks import before_ordinary_requests
from idp.housekeeping.interval_gate import IntervalGate
from idp.housekeeping.retention import install_retention_purge
from idp.login.record import end_login_session
from idp.models import LoginSession

log = logging.getLogger(__name__)

#: Sessions ended per sweep; a backlog is worked off over the following sweeps.
SWEEP_BATCH = 200


def expire_login_sessions(limit: int = SWEEP_BATCH) -> int:
    """End (reason ``expired``) up to ``limit`` sessions past their ``expires_at``; the caller commits."""
    expired = db.session.execute(
        select(LoginSession)
        .where(LoginSession.ended_at.is_(None), LoginSession.expires_at <= utcnow())
        .order_by(LoginSession.expires_at)
        .limit(limit)
    ).scalars().all()
    for login in expired:
        end_login_session(login, "expired")
    return len(expired)


class OpportunisticSweep:
    """A ``before_request`` hook that sweeps at most once per interval in this worker."""

    def __init__(self, interval: int):
        self.gate = IntervalGate(interval)

    def __call__(self) -> None:
        if not self.gate.enter():
            return
        try:
            expire_login_sessions()
            db.session.commit()
        except Exception as error:
            # The person's request must not fail because housekeeping did; the next sweep retries.
            log_task_failure(log, "session expiry sweep failed", error)
            db.session.rollback()
        finally:
            self.gate.leave()


def install_session_sweep(app: Flask) -> None:
    """Sweep every ``SESSION_SWEEP_SECONDS``, and purge spent rows every ``RETENTION_PURGE_SECONDS``
    (:mod:`idp.housekeeping.retention`)."""
    interval = current_settings(app).SESSION_SWEEP_SECONDS
    if interval > 0:
        before_ordinary_requests(app, OpportunisticSweep(interval))
    install_retention_purge(app)
