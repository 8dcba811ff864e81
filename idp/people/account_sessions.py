"""A person's live login sessions, as the account centre lists and ends them.

Pages name a session by a digest of its id, never the id itself: the id is the ``sid`` of
tokens and needs no further exposure.  Ending a session revokes every grant made from it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from idp.audit.log import record_event
from idp.core.clock import utcnow
from idp.core.database import db
from idp.login.record import LoginContext, end_login_session
from idp.models import Client, Grant, LoginSession, Person
from idp.people.identity_documents import LocalizedValueError
from idp.protocol.tokens import revoke_grant


class SessionChangeRefused(LocalizedValueError):
    MESSAGES = {
        "not_found": {
            "zh-CN": "该登录会话不存在或已结束",
            "en": "This session does not exist or has already ended.",
        },
        "current": {
            "zh-CN": "当前会话请使用“退出登录”结束",
            "en": "Use “Sign out” to end the session you are using.",
        },
    }


@dataclass(frozen=True)
class SessionSummary:
    ref: str
    created_at: datetime
    auth_time: int
    acr: str
    amr: list[str]
    expires_at: datetime
    #: Names of the applications holding live grants from this session.
    apps: list[str]
    current: bool


def session_ref(login_session_id: str) -> str:
    return hashlib.sha256(login_session_id.encode()).hexdigest()[:20]


def _live_sessions(person: Person) -> list[LoginSession]:
    return list(db.session.execute(
        select(LoginSession)
        .where(LoginSession.person_id == person.id, LoginSession.ended_at.is_(None),
               LoginSession.expires_at > utcnow())
        .order_by(LoginSession.created_at.desc(), LoginSession.id)
    ).scalars())


def _apps_by_session(session_ids: list[str]) -> dict[str, list[str]]:
    rows = db.session.execute(
        select(Grant.login_session_id, Client.name)
        .join(Client, Client.client_id == Grant.client_id)
        .where(Grant.login_session_id.in_(session_ids), Grant.revoked_at.is_(None), Grant.expires_at > utcnow())
        .order_by(Client.name)
    ).all()
    apps: dict[str, list[str]] = {}
    for session_id, name in rows:
        names = apps.setdefault(session_id, [])
        if name not in names:
            names.append(name)
    return apps


def list_live_sessions(login: LoginContext) -> list[SessionSummary]:
    """The person's sessions that are neither ended nor expired, newest first, this one marked."""
    sessions = _live_sessions(login.person)
    apps = _apps_by_session([s.id for s in sessions])
    return [
        SessionSummary(ref=session_ref(s.id), created_at=s.created_at, auth_time=s.auth_time, acr=s.acr,
                       amr=list(s.amr), expires_at=s.expires_at, apps=apps.get(s.id, []),
                       current=s.id == login.session.id)
        for s in sessions
    ]


def end_session_by_ref(login: LoginContext, ref: str) -> None:
    """End another live session of the same person (and revoke its grants); the caller commits."""
    target = next((s for s in _live_sessions(login.person) if session_ref(s.id) == ref), None)
    if target is None:
        raise SessionChangeRefused("not_found")
    if target.id == login.session.id:
        raise SessionChangeRefused("current")
    end_login_session(target, "ended_in_account_centre")


def end_other_sessions(person: Person, *, keep: LoginSession | None, reason: str) -> int:
    """End every session of ``person`` but ``keep`` and revoke every grant not made from ``keep``.

    Grants of sessions that merely expired are revoked too: their refresh tokens outlive the
    session (``REFRESH_TOKEN_ABSOLUTE_TTL``).  Returns how many live sessions ended.
    """
    keep_id = keep.id if keep is not None else None
    others = [s for s in _live_sessions(person) if s.id != keep_id]
    for other in others:
        end_login_session(other, reason)
    leftover = select(Grant.id).where(Grant.person_id == person.id, Grant.revoked_at.is_(None))
    if keep_id is not None:
        leftover = leftover.where(Grant.login_session_id != keep_id)
    for grant_id in db.session.execute(leftover).scalars().all():
        revoke_grant(grant_id, reason)
    return len(others)


def end_all_sessions(login: LoginContext) -> int:
    """Sign out everywhere: every session of the person ends, this one included."""
    ended = end_other_sessions(login.person, keep=login.session, reason="signed_out_everywhere")
    end_login_session(login.session, "signed_out_everywhere")
    record_event("sessions.ended_everywhere", subject=login.person.sub, sessions_ended=ended + 1)
    return ended + 1
