"""Writing the audit log.  Details are masked here, once, so no caller can leak a secret."""

from __future__ import annotations

import logging
from typing import Any

from flask import has_request_context, request
from sqlalchemy.exc import SQLAlchemyError

from idp.audit.chain import PendingRecord, add_at_commit, pending_records
from idp.core.clock import utcnow
from idp.core.database import db
from idp.core.metrics import count_login_event

log = logging.getLogger("idp.audit")

#: Detail keys that may never be written, whatever a caller passes.
FORBIDDEN_DETAIL_KEYS = frozenset(
    {"password", "code", "sms_code", "token", "access_token", "refresh_token", "client_secret", "secret"}
)


def record_event(
    event: str,
    outcome: str = "success",
    *,
    subject: str | None = None,
    client_id: str | None = None,
    **detail: Any,
) -> None:
    """Add an audit row to the current transaction; it is written when the transaction commits,
    and rolls back with it.

    ``detail`` values must already be masked (see :mod:`idp.people.identity_documents`' mask functions).
    """
    leaked = FORBIDDEN_DETAIL_KEYS.intersection(detail)
    if leaked:
        raise ValueError(f"audit detail may not carry secrets: {sorted(leaked)}")
    ip = request.remote_addr if has_request_context() else None
    add_at_commit(db.session(), PendingRecord(
        at=utcnow(), event=event, outcome=outcome, subject=_storable(subject), client_id=_storable(client_id), ip=ip,
        detail=_storable(detail)))
    if event.startswith("login."):
        # Every login step is audited as login.<method>, wherever it happens: counting here
        # counts each one once, including steps added later.
        count_login_event(event.removeprefix("login."), outcome, detail.get("acr"))
    log.info("audit %s %s subject=%s client=%s %s", event, outcome, subject, client_id, detail)


def _storable(value: Any) -> Any:
    """``value`` with every NUL character replaced: audit fields carry what a request claimed (a
    client_id, a grant type), and PostgreSQL refuses NUL in text, which would fail the request's
    whole transaction instead of recording it."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {key: _storable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_storable(item) for item in value]
    return value


def record_event_at_once(event: str, outcome: str = "success", **fields: Any) -> None:
    """Record and commit an event of a request refused before it changed anything (a rate
    limit); when the database cannot take it, log it as lost instead of failing the answer."""
    record_event(event, outcome, **fields)
    try:
        db.session.commit()
    except SQLAlchemyError as error:
        report_lost_events(error)
        db.session.rollback()


def report_lost_events(error: BaseException) -> None:
    """Log, as structured warnings, the audit events of a transaction the database failed, and
    the submission itself: when the database is down no audit row can be written, and the log
    (shipped off the node) is then the only record.  Call before rolling back."""
    lost = pending_records(db.session())
    where = {"endpoint": request.endpoint, "method": request.method, "ip": request.remote_addr} \
        if has_request_context() else {}
    for row in lost:
        log.warning("audit event lost: %s %s", row.event, row.outcome, extra={
            "audit_lost": True, "event": row.event, "outcome": row.outcome, "subject": row.subject,
            "client_id": row.client_id, "detail": row.detail, "cause": type(error).__name__, **where})
    # A submission (a login attempt, a token request) is an attempt whatever it became; a page
    # view is not, and the outage itself is logged once (idp.core.database_outages).
    if where and where["method"] not in ("GET", "HEAD", "OPTIONS"):
        log.warning("request lost to a database failure: %s %s", where["method"], where["endpoint"], extra={
            "audit_lost": True, "event": "request.lost", "outcome": "unavailable",
            "cause": type(error).__name__, **where})
