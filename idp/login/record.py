"""The login record (docs/architecture.md §5.4): created once by the login pages, read by everything after.

``acr`` is derived from the factors done (docs/domain.md §13) in exactly one place.

A login reaches a person (:class:`LoginContext`), except the old enterprise login of the
dual-track transition (:class:`LegacyLoginContext`), which reaches only an enterprise's old
account.  :func:`current_login` sees person logins only, so every page that needs a person
(account centre, step-up, taxpayer choice, consent) treats an old login as no login at all;
:func:`current_browser_login` sees both, for the few places that serve the old login too
(authorization, logout, the old login's own pages).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import cast

from flask import request, session
from sqlalchemy import bindparam, select, update

from idp.audit.log import record_event
from idp.core.assurance import derive_acr, with_mfa
from idp.core.clock import utcnow
from idp.core.database import db
from idp.core.settings import current_settings
from idp.login.devices import describe_device
from idp.models import Grant, LegacyEnterpriseAccount, LoginSession, Person
from idp.protocol.backchannel_logout import enqueue_backchannel_logouts
from idp.protocol.subjects import query_account
from idp.protocol.tokens import revoke_grant
from idp.web.browser_session import ServerSideSession


@dataclass(frozen=True)
class LoginContext:
    """Who is logged in in this browser, and how: handed to the code grant as its user."""

    person: Person
    session: LoginSession

    @property
    def account(self) -> Person:
        """Whose ``sub`` the login carries (the same attribute on :class:`LegacyLoginContext`)."""
        return self.person

    def get_user_id(self) -> str:
        return self.person.sub


@dataclass(frozen=True)
class LegacyLoginContext:
    """The old enterprise login (docs/domain.md §1.2, dual-track): an enterprise's old account, no person."""

    account: LegacyEnterpriseAccount
    session: LoginSession

    def get_user_id(self) -> str:
        return self.account.sub


#: Any live login of this browser.
BrowserLogin = LoginContext | LegacyLoginContext


def _bind_to_browser(login: LoginSession, subject: str) -> LoginSession:
    device = describe_device(request.headers.get("User-Agent"), request.remote_addr)
    login.device_browser, login.device_system, login.device_ip = device.browser, device.system, device.masked_ip
    db.session.add(login)
    # Session fixation: whatever id the browser had before logging in is discarded.
    cast(ServerSideSession, session).regenerate()
    session["login_session_id"] = login.id
    record_event("login.succeeded", subject=subject, acr=login.acr, amr=login.amr, sid=login.id[:8],
                 **({"via": "legacy_enterprise"} if login.legacy_account_id else {}))
    return login


def _new_login_session(amr: list[str], business: str, **subject_ids: int | None) -> LoginSession:
    return LoginSession(
        id=secrets.token_urlsafe(32),
        auth_time=int(time.time()),
        amr=amr,
        acr=derive_acr(amr),
        business=business,
        expires_at=utcnow() + timedelta(seconds=current_settings().LOGIN_SESSION_TTL),
        **subject_ids,
    )


def create_login_session(person: Person, amr: list[str], business: str = "natural_person") -> LoginSession:
    """Record a completed login and bind it to this browser under a fresh cookie id."""
    login = _new_login_session(with_mfa(amr), business, person_id=person.id)
    return _bind_to_browser(login, person.sub)


def create_legacy_login_session(account: LegacyEnterpriseAccount, entity: dict) -> LoginSession:
    """Record an old enterprise login: one factor (``pwd``, hence loa:1), enterprise business,
    the enterprise as its taxpayer (``entity`` shaped as :mod:`idp.consent.choices` shapes it)."""
    login = _new_login_session(["pwd"], "enterprise", legacy_account_id=account.id)
    login.entity_id, login.entity = account.entity_id, entity
    return _bind_to_browser(login, account.sub)


def step_up_login_session(login: LoginSession, person: Person, amr: str) -> None:
    """Add a factor done now to the live session (``auth_time`` moves, ``sid`` stays, so the
    relying parties already served keep their grants)."""
    login.amr = with_mfa([m for m in login.amr if m != "mfa"] + [amr])
    login.acr = derive_acr(login.amr)
    login.auth_time = int(time.time())
    record_event("login.step_up", subject=person.sub, acr=login.acr, amr=login.amr, sid=login.id[:8])


def current_browser_login() -> BrowserLogin | None:
    """The browser's live login, if any: a person's, or an old enterprise login."""
    login_id = session.get("login_session_id")
    if not login_id:
        return None
    login = db.session.get(LoginSession, login_id)
    if login is None or login.ended_at is not None or login.expires_at <= utcnow():
        return None
    account = query_account(login)
    if account is None or account.status != "active":
        return None
    if isinstance(account, LegacyEnterpriseAccount):
        return LegacyLoginContext(account, login)
    return LoginContext(account, login)


def current_login() -> LoginContext | None:
    """The browser's live login of a person, if any (an old enterprise login is none)."""
    login = current_browser_login()
    return login if isinstance(login, LoginContext) else None


class NotLoggedIn(Exception):
    """No live login of a person in this browser (it ended, or never was)."""


def require_login() -> LoginContext:
    """:func:`current_login`, for flows that need one; raises :class:`NotLoggedIn` without."""
    login = current_login()
    if login is None:
        raise NotLoggedIn()
    return login


_LOGIN_SESSIONS = LoginSession.__table__
#: Built once: every grant runs it, and building it per call cost SQLAlchemy more CPU than
#: running it (a prebuilt statement's cache key is memoized).
_HOLD_LIVE = update(_LOGIN_SESSIONS).where(
    _LOGIN_SESSIONS.c.id == bindparam("session_id"), _LOGIN_SESSIONS.c.ended_at.is_(None),
).values(ended_at=None).returning(_LOGIN_SESSIONS.c.id)


def hold_live_login_session(session_id: str) -> bool:
    """Lock a login session's row for this transaction if it has not ended; False if it has.

    A grant made from the session is written under this lock, so a logout racing it (which
    locks the row to end the session) either waits, then finds and revokes the new grant, or
    ended the session first and no grant is made.  An ``UPDATE`` that changes nothing rather
    than ``SELECT … FOR UPDATE``, which SQLite ignores: a write takes SQLite's one write lock.
    """
    return db.session.execute(_HOLD_LIVE, {"session_id": session_id}).first() is not None


def end_login_session(login: LoginSession, reason: str) -> None:
    """Log out: the session ends, every grant made from it is revoked, and every relying party
    that took part is told by back-channel logout (queued in this transaction, sent later)."""
    # Guarded, so of two callers ending one session (a logout racing the expiry sweep) only
    # one queues the back-channel messages and writes the audit row.
    ended_now = db.session.execute(
        update(LoginSession).where(LoginSession.id == login.id, LoginSession.ended_at.is_(None))
        .values(ended_at=utcnow()).returning(LoginSession.id)
    ).first()
    grant_ids = db.session.execute(
        select(Grant.id).where(Grant.login_session_id == login.id, Grant.revoked_at.is_(None))
    ).scalars()
    for grant_id in grant_ids:
        revoke_grant(grant_id, reason)
    if ended_now is None:
        return  # ended (and audited) by the other caller
    account = query_account(login)
    if account is not None:
        enqueue_backchannel_logouts(login, account)
    record_event("logout", subject=account.sub if account else None, reason=reason, sid=login.id[:8])
