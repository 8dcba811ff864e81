"""The back-channel logout worker: one daemon thread per serving process.

It starts with the process's first request (so it lives in each gunicorn worker, never in the
parent or in one-off CLI commands), wakes as soon as a transaction that queued logout messages
commits, and otherwise polls for retries that became due.  Several processes may run it at
once: :func:`~idp.protocol.backchannel_logout.claim_due_logouts` hands each message to one of them.
"""

from __future__ import annotations

import logging
import os
import threading

from flask import Flask, current_app, has_app_context
from sqlalchemy import event

from idp.core.database import db
from idp.core.database_outages import log_task_failure
from idp.core.settings import current_settings
from idp.protocol.backchannel_logout import QUEUED_FLAG, deliver_due_logouts

log = logging.getLogger(__name__)

#: Seconds between looks at the queue when nothing woke the worker (retries falling due).
POLL_SECONDS = 5
#: Messages claimed per round; a full round is followed by another at once.
BATCH = 20


class LogoutQueueWorker:
    def __init__(self, app: Flask):
        self.app = app
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    def ensure_running(self) -> None:
        """Start the thread unless this process already runs it (a fork copies no threads)."""
        if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
            return
        with self._lock:
            if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
                return
            self._stop.clear()
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="idp-backchannel-logout", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                with self.app.app_context():
                    report = deliver_due_logouts(BATCH)
            except Exception as error:
                log_task_failure(log, "back-channel logout round failed; retrying after the poll interval", error)
                report = None
            if report is not None and len(report.claimed) == BATCH:
                continue
            self._wake.wait(POLL_SECONDS)


def _wake_after_commit(session) -> None:
    if session.info.pop(QUEUED_FLAG, False) and has_app_context():
        worker = current_app.extensions.get("idp.logout_worker")
        if worker is not None:
            worker.ensure_running()
            worker.wake()


def install_logout_worker(app: Flask) -> None:
    """Run the worker in this app's serving processes (``BACKCHANNEL_LOGOUT_WORKER``)."""
    if not event.contains(db.session, "after_commit", _wake_after_commit):
        event.listen(db.session, "after_commit", _wake_after_commit)
    if not current_settings(app).BACKCHANNEL_LOGOUT_WORKER:
        return
    worker = LogoutQueueWorker(app)
    app.extensions["idp.logout_worker"] = worker
    app.before_request(worker.ensure_running)
