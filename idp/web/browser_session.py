"""Server-side browser sessions: the cookie holds only an opaque id (docs/architecture.md §5.1).

Rows are keyed by the SHA-256 of the cookie value, so a database reader cannot replay a
cookie.  ``session.regenerate()`` moves the data under a fresh id (session fixation).

Every page of a login changes this row, so it is written by the request's own commit: when a
view commits its work, a changed session goes into that transaction (one UPDATE, or INSERT
under a new id, never a read first), and only a session changed after that commit (a CSRF
token made while the page renders) costs a transaction of its own when the response is saved.

The row is read when the request starts. When that read fails (the database is down) the
request still gets a session, an empty one that is never written, so the error page can be
built (its language then comes from the cookie or Accept-Language, see idp/core/i18n.py); the
request itself is refused with that error before any view or CSRF check runs, except by the
endpoints that never read the session (discovery, the JWKS, static files). A request that runs
into the database later keeps the stored session as it was too (:func:`keep_stored_session`).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import cast

from flask import Flask, Request, Response, has_request_context, request, session
from flask.sessions import SessionInterface, SessionMixin
from sqlalchemy import bindparam, delete, event, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from werkzeug.datastructures import CallbackDict
from werkzeug.local import LocalProxy

from idp.core.clock import utcnow
from idp.core.database import db, rows_changed
from idp.core.settings import current_settings
from idp.models import BrowserSession

COOKIE_NAME = "idp_session"
#: Blueprints and endpoints that never read the browser session: they answer while it cannot be read.
SESSIONLESS_BLUEPRINTS = frozenset({"discovery"})
SESSIONLESS_ENDPOINTS = frozenset({"static"})


def _row_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ServerSideSession(CallbackDict, SessionMixin):
    def __init__(self, data: dict | None = None, token: str | None = None):
        def on_update(self: ServerSideSession) -> None:
            self.modified = True

        super().__init__(data or {}, on_update)
        #: The cookie value of the stored row (None: no row yet, or the row was deleted).
        self.token = token
        self.new = token is None
        self.modified = False
        self.regenerate_requested = False
        #: The token a commit in progress stores the row under ("" when it deletes the row).
        self.storing: str | None = None
        #: A commit stored or deleted the row: the response sets or deletes the cookie.
        self.cookie_due = False
        #: Why the stored row could not be read (the database is unreachable), if it could not.
        self.load_error: SQLAlchemyError | None = None
        #: False once the request must leave the stored row and the cookie as they are.
        self.writable = True

    def regenerate(self) -> None:
        """Give this session a new id at the next save; the old id stops working."""
        self.regenerate_requested = True
        self.modified = True


_TABLE = BrowserSession.__table__
#: Built once: every page of a login runs them, and building an UPDATE and its cache key costs
#: SQLAlchemy ~0.1 ms of CPU each time (a prebuilt statement's key is memoized).
_READ = select(_TABLE.c.data, _TABLE.c.expires_at).where(_TABLE.c.id_hash == bindparam("key"))
_INSERT = insert(_TABLE)
_MOVE = update(_TABLE).where(_TABLE.c.id_hash == bindparam("old_key")).values(
    id_hash=bindparam("new_key"), data=bindparam("new_data"), expires_at=bindparam("new_expires_at"))
_DELETE = delete(_TABLE).where(_TABLE.c.id_hash == bindparam("key"))


def _request_session() -> SessionMixin:
    """This request's session object itself (``flask.session`` is a proxy to it, typed as the object)."""
    return cast("LocalProxy[SessionMixin]", session)._get_current_object()


def _changed_session() -> ServerSideSession | None:
    """This request's browser session, when it holds changes not stored yet."""
    if not has_request_context():
        return None
    current = _request_session()
    if isinstance(current, ServerSideSession) and current.modified and current.writable:
        return current
    return None


def keep_stored_session() -> None:
    """Leave this request's browser session as stored: its changes are dropped, its cookie kept
    (the request failed on the database, and the person retries with the same session)."""
    if has_request_context() and isinstance(current := _request_session(), ServerSideSession):
        current.writable = False


@event.listens_for(db.session, "before_commit")
def _store_with_commit(db_session: Session) -> None:
    """Write a changed browser session in the transaction being committed."""
    changed = _changed_session()
    if changed is None:
        return
    old_key = _row_key(changed.token) if changed.token else None
    if not changed:
        if old_key:
            db_session.execute(_DELETE, {"key": old_key})
        changed.storing = ""
        return
    token = secrets.token_urlsafe(32) if changed.regenerate_requested or changed.token is None else changed.token
    ttl = current_settings().LOGIN_SESSION_TTL
    key, data, expires_at = _row_key(token), dict(changed), utcnow() + timedelta(seconds=ttl)
    # One UPDATE writes the row, and moves it to its new id when the id was regenerated
    # (session fixation); a new session, or a row swept since this request read it, is inserted.
    moved = old_key is not None and rows_changed(db_session.execute(_MOVE, {
        "old_key": old_key, "new_key": key, "new_data": data, "new_expires_at": expires_at}))
    if not moved:
        db_session.execute(_INSERT, {"id_hash": key, "data": data, "expires_at": expires_at})
    changed.storing = token


@event.listens_for(db.session, "after_commit")
def _stored(db_session: Session) -> None:
    if (changed := _changed_session()) is None or changed.storing is None:
        return
    changed.token = changed.storing or None
    changed.storing = None
    changed.modified = changed.regenerate_requested = False
    changed.cookie_due = True


@event.listens_for(db.session, "after_rollback")
def _not_stored(db_session: Session) -> None:
    # The row was not written after all: the session stays changed, for the next commit.
    if (changed := _changed_session()) is not None:
        changed.storing = None


class DatabaseSessionInterface(SessionInterface):
    def open_session(self, app: Flask, request: Request) -> ServerSideSession:
        token = request.cookies.get(COOKIE_NAME)
        # No cookie (every protocol call from a relying party): no database read at all.
        if not token or len(token) > 128:
            return ServerSideSession()
        try:
            row = db.session.execute(_READ, {"key": _row_key(token)}).first()
        except SQLAlchemyError as error:
            # Raising here would leave Flask without a session, and every error page (which reads
            # it for the language) would fail too: the request is refused by refuse_unread_session.
            unread = ServerSideSession(token=token)
            unread.load_error, unread.writable = error, False
            return unread
        if row is None or row.expires_at <= utcnow():
            return ServerSideSession()
        return ServerSideSession(dict(row.data), token)

    # Flask hands back what open_session returned, always a ServerSideSession.
    def save_session(self, app: Flask, session: ServerSideSession, response: Response) -> None:  # type: ignore[override]
        if not session.writable:
            return
        if session.modified:
            # Changed since the view's last commit, or the view committed nothing: this commit
            # stores it (with whatever the request left uncommitted).
            db.session.commit()
        if not session.cookie_due:
            return
        if session.token is None:
            response.delete_cookie(COOKIE_NAME, path="/")
            return
        response.set_cookie(
            COOKIE_NAME, session.token, max_age=current_settings(app).LOGIN_SESSION_TTL, path="/", httponly=True,
            secure=current_settings(app).ISSUER.startswith("https://"), samesite="Lax",
        )


def refuse_unread_session() -> None:
    """``before_request``: a request whose browser session could not be read fails with that
    error (a 503 while the database is down), before a view could act as if nobody were logged in."""
    current = _request_session()
    if not isinstance(current, ServerSideSession) or current.load_error is None:
        return
    if request.endpoint in SESSIONLESS_ENDPOINTS or request.blueprint in SESSIONLESS_BLUEPRINTS:
        return
    raise current.load_error


def install_browser_sessions(app: Flask) -> None:
    """Server-side sessions; call before any other ``before_request`` hook (CSRF) is installed."""
    app.session_interface = DatabaseSessionInterface()
    app.before_request(refuse_unread_session)
