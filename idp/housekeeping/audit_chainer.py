"""Linking committed audit records into the hash chain (idp.audit.chain.link_unchained), from the
serving processes: at most every ``AUDIT_CHAIN_INTERVAL_MS`` per worker, before a request, one
small batch.  Requests only insert their records; this keeps the chain's head lock off every
request's path but the one that happens to run the chainer (a few milliseconds), and while one
worker links, the others skip it (they never wait for the head)."""

from __future__ import annotations

import logging

from flask import Flask

from idp.audit.chain import link_unchained
from idp.core.database import db
from idp.core.database_outages import log_task_failure
from idp.core.settings import current_settings
from idp.housekeeping.hooks import before_ordinary_requests
from idp.housekeeping.interval_gate import IntervalGate

log = logging.getLogger(__name__)


class PeriodicChainer:
    """A ``before_request`` hook linking one batch at most once per interval in this worker."""

    def __init__(self, interval_ms: int):
        self.gate = IntervalGate(interval_ms / 1000)

    def __call__(self) -> None:
        if not self.gate.enter():
            return
        try:
            link_unchained(db.session())
        except Exception as error:
            # The request must not fail because housekeeping did; the records wait for the next run.
            log_task_failure(log, "audit chainer failed; the next run links the records", error)
            db.session.rollback()
        finally:
            self.gate.leave()


def install_audit_chainer(app: Flask) -> None:
    """Chain audit records every ``AUDIT_CHAIN_INTERVAL_MS`` per worker (0: only ``idp audit chain``)."""
    interval = current_settings(app).AUDIT_CHAIN_INTERVAL_MS
    if interval > 0:
        before_ordinary_requests(app, PeriodicChainer(interval))
