"""OpenID Connect Back-Channel Logout 1.0: tell every relying party of an ended session.

Ending a login session queues one message per client that took part in it (every client
with a grant from that session and a registered ``backchannel_logout_uri``).  The queue is a
table, so it survives restarts; :func:`deliver_due_logouts` claims due rows atomically, POSTs a
freshly signed logout token (section 2.4), and records the result, retrying with doubling
delays until ``BACKCHANNEL_LOGOUT_MAX_ATTEMPTS``.  Nothing here runs inside the person's
logout request except the enqueueing: delivery happens in a background worker.
"""

from __future__ import annotations

import logging
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import cast

import requests
from flask import Flask, current_app
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import and_, delete, func, or_, select, update
from werkzeug.local import LocalProxy

from idp.audit.log import record_event
from idp.core.clock import utcnow
from idp.core.database import db
from idp.core.metrics import count_backchannel_logouts
from idp.core.settings import current_settings
from idp.keyring import ID_TOKEN_DEFAULT_ALGORITHM, current_keyring
from idp.models import BackchannelLogout, Client, Grant, LoginSession
from idp.models.backchannel_logout import FAILED, PENDING, SENDING
from idp.protocol.client_registry import client_registry
from idp.protocol.subjects import Account, subject_for

log = logging.getLogger(__name__)

LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
#: ``session.info`` flag: this transaction queued logout messages, wake the worker on commit.
QUEUED_FLAG = "idp.backchannel_logout_queued"
#: Longest delay between two attempts, however many failed before.
MAX_RETRY_DELAY = 3600


def create_logout_token(*, client_id: str, sub: str, sid: str, jti: str, alg: str) -> str:
    """A logout token (section 2.4): signed like the client's ID tokens, typed ``logout+jwt``
    (section 2.4 and RFC 8725 section 3.11), never with a ``nonce``."""
    settings = current_settings()
    key = current_keyring().active_key(alg)
    now = int(time.time())
    claims = {
        "iss": settings.ISSUER,
        "aud": client_id,
        "iat": now,
        "exp": now + settings.LOGOUT_TOKEN_TTL,
        "jti": jti,
        "sub": sub,
        "sid": sid,
        "events": {LOGOUT_EVENT: {}},
    }
    return jwt.encode({"alg": alg, "typ": "logout+jwt", "kid": key.kid}, claims, KeySet([key.key]))


#: Logout messages waiting for delivery or being sent: the queue ``BACKCHANNEL_LOGOUT_QUEUE_LIMIT`` bounds.
COUNT_UNDELIVERED = (select(func.count()).select_from(BackchannelLogout)
                     .where(BackchannelLogout.status.in_([PENDING, SENDING])))


def enqueue_backchannel_logouts(login: LoginSession, person: Account) -> int:
    """Queue a logout message for every client that took part in ``login``; returns how many.

    The rows join the caller's transaction: they exist exactly when the session's end does.
    """
    took_part = select(Grant.client_id).where(Grant.login_session_id == login.id)
    clients = db.session.execute(
        select(Client).where(Client.client_id.in_(took_part), Client.backchannel_logout_uri.is_not(None))
        .order_by(Client.id)
    ).scalars().all()
    if not clients:
        return 0
    limit = current_settings().BACKCHANNEL_LOGOUT_QUEUE_LIMIT
    undelivered = db.session.execute(COUNT_UNDELIVERED).scalar_one()
    queued = 0
    for client in clients:
        if undelivered >= limit:
            # A bounded queue: the session still ends and its grants are revoked; only this
            # notice is lost, and the audit log says so.
            record_event("logout.backchannel.dropped", "failure", client_id=client.client_id,
                         sid=login.id[:8], reason="queue_full")
            count_backchannel_logouts("dropped")
            continue
        db.session.add(BackchannelLogout(
            jti=secrets.token_urlsafe(32), client_id=client.client_id, uri=client.backchannel_logout_uri,
            sid=login.id, sub=subject_for(person, client), status=PENDING, attempts=0, next_attempt_at=utcnow(),
        ))
        undelivered += 1
        queued += 1
    if queued:
        db.session.info[QUEUED_FLAG] = True
    return queued


@dataclass(frozen=True)
class ClaimedLogout:
    id: int
    jti: str
    client_id: str
    uri: str
    sid: str
    sub: str
    attempts: int


@dataclass
class DeliveryReport:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    claimed: list[int] = field(default_factory=list)


def _due():
    now = utcnow()
    return or_(
        and_(BackchannelLogout.status == PENDING, BackchannelLogout.next_attempt_at <= now),
        # A worker that died mid-send left its rows claimed: they are due again once the lease ends.
        and_(BackchannelLogout.status == SENDING, BackchannelLogout.claimed_until < now),
    )


def claim_due_logouts(limit: int) -> tuple[str, list[ClaimedLogout]]:
    """Claim up to ``limit`` due messages for this worker, in one committed UPDATE.

    ``FOR UPDATE SKIP LOCKED`` (PostgreSQL) lets parallel workers take disjoint rows; the
    repeated condition in the UPDATE makes a row taken meanwhile drop out (SQLite serialises
    writers, so the same statement is atomic there too).
    """
    settings = current_settings()
    claim = secrets.token_urlsafe(32)
    # Long enough for one POST with its timeout, so a live worker's claim never lapses mid-send.
    lease = utcnow() + timedelta(seconds=2 * settings.BACKCHANNEL_LOGOUT_TIMEOUT + 30)
    due_ids = (
        select(BackchannelLogout.id).where(_due()).order_by(BackchannelLogout.next_attempt_at, BackchannelLogout.id)
        .limit(limit).with_for_update(skip_locked=True)
    )
    rows = db.session.execute(
        update(BackchannelLogout)
        .where(BackchannelLogout.id.in_(due_ids.scalar_subquery()), _due())
        .values(status=SENDING, claim=claim, claimed_until=lease, attempts=BackchannelLogout.attempts + 1)
        .returning(BackchannelLogout.id, BackchannelLogout.jti, BackchannelLogout.client_id, BackchannelLogout.uri,
                   BackchannelLogout.sid, BackchannelLogout.sub, BackchannelLogout.attempts)
        .execution_options(synchronize_session=False)
    ).all()
    db.session.commit()
    return claim, [ClaimedLogout(*row) for row in rows]


def _post_logout_token(message: ClaimedLogout) -> str | None:
    """Send one logout token (section 2.5); None on success, else why it failed."""
    settings = current_settings()
    client = client_registry().query_client(message.client_id)
    alg = client.id_token_signed_response_alg if client else ID_TOKEN_DEFAULT_ALGORITHM
    token = create_logout_token(client_id=message.client_id, sub=message.sub, sid=message.sid, jti=message.jti, alg=alg)
    timeout = settings.BACKCHANNEL_LOGOUT_TIMEOUT
    try:
        response = requests.post(message.uri, data={"logout_token": token}, timeout=(timeout, timeout),
                                 allow_redirects=False, headers={"Cache-Control": "no-store"})
    except requests.RequestException as error:
        return error.__class__.__name__
    # Section 2.8: the RP answers 200 (or 204) once it has logged the session out.
    return None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"


def _retry_delay(attempts: int) -> int:
    base = current_settings().BACKCHANNEL_LOGOUT_RETRY_SECONDS
    return min(base * 2 ** (attempts - 1), MAX_RETRY_DELAY)


def _record_result(claim: str, message: ClaimedLogout, error: str | None, report: DeliveryReport) -> None:
    mine = and_(BackchannelLogout.id == message.id, BackchannelLogout.claim == claim)
    if error is None:
        db.session.execute(delete(BackchannelLogout).where(mine).execution_options(synchronize_session=False))
        record_event("logout.backchannel.delivered", client_id=message.client_id, sid=message.sid[:8],
                     attempts=message.attempts)
        report.delivered += 1
    elif message.attempts >= current_settings().BACKCHANNEL_LOGOUT_MAX_ATTEMPTS:
        db.session.execute(update(BackchannelLogout).where(mine).values(
            status=FAILED, claim=None, claimed_until=None, last_error=error[:200],
        ).execution_options(synchronize_session=False))
        record_event("logout.backchannel.failed", "failure", client_id=message.client_id, sid=message.sid[:8],
                     attempts=message.attempts, error=error[:200], final=True)
        report.failed += 1
    else:
        db.session.execute(update(BackchannelLogout).where(mine).values(
            status=PENDING, claim=None, claimed_until=None, last_error=error[:200],
            next_attempt_at=utcnow() + timedelta(seconds=_retry_delay(message.attempts)),
        ).execution_options(synchronize_session=False))
        record_event("logout.backchannel.failed", "failure", client_id=message.client_id, sid=message.sid[:8],
                     attempts=message.attempts, error=error[:200], final=False)
        report.retrying += 1
    db.session.commit()


def _send_in_app_context(app, message: ClaimedLogout) -> str | None:
    with app.app_context():
        try:
            return _post_logout_token(message)
        except Exception as unexpected:  # a signing or lookup fault must not strand the claimed rows
            log.exception("back-channel logout to %s failed unexpectedly", message.client_id)
            return unexpected.__class__.__name__


def deliver_due_logouts(limit: int = 20) -> DeliveryReport:
    """Claim and send up to ``limit`` due logout messages; each result is committed on its own.
    It runs in the logout worker thread or ``idp logout-queue run``, never in a view: the
    claim and the results are its own commits, outside any request's transaction.

    The claimed messages are sent all at once: one after another, a relying party that answers
    only at the timeout held up every message behind it (and the claim's lease ran out under
    the later ones, so the other worker sent them again)."""
    claim, messages = claim_due_logouts(limit)
    report = DeliveryReport(claimed=[m.id for m in messages])
    if not messages:
        return report
    app = cast("LocalProxy[Flask]", current_app)._get_current_object()
    with ThreadPoolExecutor(max_workers=len(messages)) as pool:
        errors = list(pool.map(partial(_send_in_app_context, app), messages))
    for message, error in zip(messages, errors, strict=True):
        _record_result(claim, message, error, report)
    for outcome in ("delivered", "retrying", "failed"):
        count_backchannel_logouts(outcome, getattr(report, outcome))
    return report


