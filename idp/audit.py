"""Writing the audit log.  Details are masked here, once, so no caller can leak a secret."""

from __future__ import annotations

import logging
from typing import Any

from flask import has_request_context, request

from idp.database import db
from idp.metrics import count_login_event
from idp.models import AuditEvent

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
    """Add an audit row to the current transaction; it commits (or rolls back) with the change.

    ``detail`` values must already be masked (see :mod:`idp.identity_documents`' mask functions).
    """
    leaked = FORBIDDEN_DETAIL_KEYS.intersection(detail)
    if leaked:
        raise ValueError(f"audit detail may not carry secrets: {sorted(leaked)}")
    ip = request.remote_addr if has_request_context() else None
    db.session.add(
        AuditEvent(event=event, outcome=outcome, subject=subject, client_id=client_id, ip=ip, detail=detail)
    )
    if event.startswith("login."):
        # Every login step is audited as login.<method>, wherever it happens: counting here
        # counts each one once, including steps added later.
        count_login_event(event.removeprefix("login."), outcome, detail.get("acr"))
    log.info("audit %s %s subject=%s client=%s %s", event, outcome, subject, client_id, detail)
