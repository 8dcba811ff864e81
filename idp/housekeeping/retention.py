"""Retention: deleting rows nobody can use any more (docs/architecture.md §7.2).

Every rule below names one table, the condition under which a row of it can no longer change
any answer the provider gives, and a grace that is added on top before the row goes.  A row is
deleted only when looking it up and not finding it gives the same result as finding it: an
expired code is refused either way, an expired ``jti`` can no longer be replayed either way.
Rows whose mere presence still decides something stay, for example a rotated refresh token
while its family is alive (presenting it again revokes the family) and a login session that
expired but was not ended yet (ending it is what sends its back-channel logouts).

Deletes go in batches of at most ``PURGE_BATCH`` rows, each its own short transaction, so a
large backlog never holds locks for long; on PostgreSQL a batch skips rows another transaction
holds (``FOR UPDATE SKIP LOCKED``), so several workers purging at once neither wait nor deadlock.

Runs from ``idp purge`` and, in the background, at most every ``RETENTION_PURGE_SECONDS`` per
worker.  Delivered back-channel logout messages are deleted on delivery; given-up ones stay
``FAILED_LOGOUT_KEEP`` for operators to inspect.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from flask import Flask
from sqlalchemy import ColumnElement, SQLColumnExpression, delete, exists, func, or_, select

from idp.audit.chain import link_all, move_anchor, purge_boundary
from idp.audit.checkpoints import checkpoint_key, sign
from idp.audit.log import record_event
from idp.core.clock import utcnow
from idp.core.database import Model, db, rows_changed
from idp.core.database_outages import log_task_failure
from idp.core.settings import Settings, current_settings
from idp.housekeeping.hooks import before_ordinary_requests
from idp.housekeeping.interval_gate import IntervalGate
from idp.models import (
    AuditEvent,
    AuthorizationCode,
    BackchannelLogout,
    BrowserSession,
    CertificateChallenge,
    DevFaceSession,
    FaceCheck,
    Grant,
    LoginSession,
    PushedAuthorizationRequest,
    QrLoginRequest,
    QrLookupFailure,
    RealnameRecord,
    RefreshToken,
    Registration,
    RevokedToken,
    SeenDpopProof,
    SmsCode,
    UsedAssertion,
)
from idp.models.backchannel_logout import FAILED

log = logging.getLogger(__name__)

#: Rows one DELETE removes at most: a few milliseconds of locks on either database.
PURGE_BATCH = 5_000

#: Kept past their own expiry so that clock skew between nodes, and a request in flight that
#: read a row just before it expired, never meet a purged row.
SKEW_MARGIN = timedelta(hours=1)
#: Ended login sessions are kept this long for an operator looking into a reported account
#: takeover (the account centre lists live sessions only); the audit log keeps the story after.
ENDED_SESSION_KEEP = timedelta(days=30)
#: The SMS daily cap counts the codes a phone received on the current local day (docs/domain.md §10,
#: against SMS pumping): a code is kept until its day is over everywhere, whatever TIMEZONE.
SMS_CODE_KEEP = timedelta(days=2)
#: Given-up back-channel logout messages stay for operators to inspect (the audit log keeps the
#: story after).
FAILED_LOGOUT_KEEP = timedelta(days=30)

Grace = timedelta | Callable[[Settings], timedelta | None]


@dataclass(frozen=True)
class RetentionRule:
    model: type[Model]
    #: True for rows that no longer matter once ``cutoff`` (now minus the grace) has passed.
    condition: Callable[[datetime], ColumnElement[bool]]
    #: Kept this long past the condition; a callable reads it from the settings (None: keep forever).
    grace: Grace = SKEW_MARGIN

    @property
    def table(self) -> str:
        return self.model.__tablename__

    def cutoff(self, now: datetime, settings: Settings) -> datetime | None:
        grace = self.grace(settings) if callable(self.grace) else self.grace
        return None if grace is None else now - grace


def _grant_is_dead(grant_id: SQLColumnExpression[str], cutoff: datetime) -> ColumnElement[bool]:
    """The grant can no longer issue anything: revoked, or past its absolute end."""
    return exists().where(Grant.id == grant_id, or_(Grant.revoked_at.is_not(None), Grant.expires_at <= cutoff))


def _spent_code(cutoff: datetime) -> ColumnElement[bool]:
    # A used code presented again revokes its grant (RFC 6749 section 4.1.2), however late: it
    # is kept while that grant lives.  An unused expired code is refused the same with or without a row.
    return (AuthorizationCode.expires_at <= cutoff) & (
        AuthorizationCode.used_at.is_(None) | _grant_is_dead(AuthorizationCode.grant_id, cutoff))


def _spent_refresh_token(cutoff: datetime) -> ColumnElement[bool]:
    # Likewise: a rotated token presented again revokes its family (idp.grants.refresh_token).
    return (RefreshToken.expires_at <= cutoff) & (
        RefreshToken.used_at.is_(None) | _grant_is_dead(RefreshToken.grant_id, cutoff))


def _spent_grant(cutoff: datetime) -> ColumnElement[bool]:
    # Every grant ends by expires_at (REFRESH_TOKEN_ABSOLUTE_TTL; revoked ones wait for it too).
    # Its codes and refresh tokens go first (rules above), so the FK's ON DELETE CASCADE never
    # removes a row those rules would keep.  A session that has not ended yet still needs its
    # grants: ending it finds the relying parties to send back-channel logouts to through them.
    return (
        (Grant.expires_at <= cutoff)
        & ~exists().where(AuthorizationCode.grant_id == Grant.id)
        & ~exists().where(RefreshToken.grant_id == Grant.id)
        & ~exists().where(LoginSession.id == Grant.login_session_id, LoginSession.ended_at.is_(None))
    )


def _audit_retention(settings: Settings) -> timedelta | None:
    return timedelta(days=settings.AUDIT_RETENTION_DAYS) if settings.AUDIT_RETENTION_DAYS > 0 else None


def _guess_window(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.QR_GUESS_WINDOW) + SKEW_MARGIN


#: Every rule, in the order they run (a grant only after its codes and refresh tokens).
RULES: tuple[RetentionRule, ...] = (
    RetentionRule(AuthorizationCode, _spent_code),
    RetentionRule(RefreshToken, _spent_refresh_token),
    RetentionRule(Grant, _spent_grant),
    # An ended session's grants were revoked when it ended; it never becomes live again.
    RetentionRule(LoginSession, lambda cutoff: LoginSession.ended_at <= cutoff, ENDED_SESSION_KEEP),
    # A deny-listed access token past its exp is refused for being expired.
    RetentionRule(RevokedToken, lambda cutoff: RevokedToken.expires_at <= cutoff),
    # A client assertion (or external app approval) past its exp fails validation before its jti is looked at.
    RetentionRule(UsedAssertion, lambda cutoff: UsedAssertion.expires_at <= cutoff),
    # A DPoP proof older than DPOP_PROOF_MAX_AGE is refused for its iat.
    RetentionRule(SeenDpopProof, lambda cutoff: SeenDpopProof.expires_at <= cutoff),
    # A request_uri past its expiry is refused with or without its row (RFC 9126 section 2.2).
    RetentionRule(PushedAuthorizationRequest, lambda cutoff: PushedAuthorizationRequest.expires_at <= cutoff),
    # The cookie of an expired row opens an empty session; saving re-inserts a swept row.
    RetentionRule(BrowserSession, lambda cutoff: BrowserSession.expires_at <= cutoff),
    RetentionRule(SmsCode, lambda cutoff: SmsCode.expires_at <= cutoff, SMS_CODE_KEEP),
    # Every QR transition and redemption requires expires_at > now.
    RetentionRule(QrLoginRequest, lambda cutoff: QrLoginRequest.expires_at <= cutoff),
    # A counter whose window closed is reset by the next failure anyway.
    RetentionRule(QrLookupFailure, lambda cutoff: QrLookupFailure.window_start <= cutoff, _guess_window),
    # complete_face_check refuses an expired check before asking the provider.
    RetentionRule(FaceCheck, lambda cutoff: FaceCheck.expires_at <= cutoff),
    RetentionRule(DevFaceSession, lambda cutoff: DevFaceSession.expires_at <= cutoff),
    RetentionRule(CertificateChallenge, lambda cutoff: CertificateChallenge.expires_at <= cutoff),
    # As ``idp registrations purge`` and ``idp realname purge``: an expired one is never read again.
    RetentionRule(Registration, lambda cutoff: Registration.expires_at <= cutoff),
    RetentionRule(RealnameRecord, lambda cutoff: RealnameRecord.expires_at <= cutoff),
    RetentionRule(BackchannelLogout, lambda cutoff: (BackchannelLogout.status == FAILED)
                  & (BackchannelLogout.created_at <= cutoff), FAILED_LOGOUT_KEEP),
    # A prefix of the chain, so what remains verifies from the anchor (idp.audit.chain.move_anchor).
    RetentionRule(AuditEvent, lambda cutoff: AuditEvent.seq < purge_boundary(cutoff), _audit_retention),
)


def _count(rule: RetentionRule, cutoff: datetime) -> int:
    return db.session.execute(select(func.count()).select_from(rule.model).where(rule.condition(cutoff))).scalar_one()


def _delete_in_batches(rule: RetentionRule, cutoff: datetime, batch_size: int) -> int:
    """Delete the rule's rows, ``batch_size`` per statement and transaction; returns how many."""
    (key,) = rule.model.__table__.primary_key.columns
    deleted = 0
    while True:
        batch = (select(key).where(rule.condition(cutoff)).limit(batch_size)
                 .with_for_update(skip_locked=True, of=rule.model))
        removed = rows_changed(db.session.execute(
            delete(rule.model).where(key.in_(batch)).execution_options(synchronize_session=False)
        ))
        db.session.commit()
        deleted += removed
        if removed < batch_size:
            return deleted


def purge_expired(now: datetime, *, dry_run: bool = False, batch_size: int = PURGE_BATCH) -> dict[str, int]:
    """Delete every row the rules in ``RULES`` find spent at ``now``; returns the count per table.

    Commits after every batch, and audits the run as one ``retention.purged`` event holding the
    counts only.  With ``dry_run`` nothing changes and the counts are what would go now (grants
    whose last refresh token this run would remove are counted by the next run).  Reads
    ``AUDIT_RETENTION_DAYS`` and ``QR_GUESS_WINDOW``.
    """
    settings: Settings = current_settings()
    counts: dict[str, int] = {}
    for rule in RULES:
        cutoff = rule.cutoff(now, settings)
        if cutoff is None:
            continue
        if rule.model is AuditEvent and not dry_run:
            link_all(db.session())  # only chained records are purged (a prefix of the chain)
            move_anchor(db.session(), cutoff, partial(sign, checkpoint_key(settings)))
        counts[rule.table] = _count(rule, cutoff) if dry_run else _delete_in_batches(rule, cutoff, batch_size)
    if dry_run:
        db.session.rollback()
    else:
        record_event("retention.purged", deleted=counts)
        db.session.commit()
    return counts


class BackgroundRetentionPurge:
    """A ``before_request`` hook that starts a purge at most once per interval in this worker.

    The purge runs in a daemon thread: a backlog of millions of rows must not hold up the
    request that happened to notice it was time.
    """

    def __init__(self, app: Flask, interval: int):
        self.app = app
        self.gate = IntervalGate(interval)

    def __call__(self) -> None:
        if not self.gate.enter():
            return
        try:
            threading.Thread(target=self._run, name="idp-retention-purge", daemon=True).start()
        except RuntimeError:
            self.gate.leave()
            log.exception("could not start the retention purge; the next interval retries")

    def _run(self) -> None:
        try:
            with self.app.app_context():
                try:
                    purge_expired(utcnow())
                except Exception as error:
                    log_task_failure(log, "retention purge failed; the next interval retries", error)
                    db.session.rollback()
        finally:
            self.gate.leave()


def install_retention_purge(app: Flask) -> None:
    """Purge in the background every ``RETENTION_PURGE_SECONDS`` per worker (0: only ``idp purge``)."""
    interval = current_settings(app).RETENTION_PURGE_SECONDS
    if interval > 0:
        before_ordinary_requests(app, BackgroundRetentionPurge(app, interval))
