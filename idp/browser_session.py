"""Server-side browser sessions: the cookie holds only an opaque id (DESIGN.md section 6).

Rows are keyed by the SHA-256 of the cookie value, so a database reader cannot replay a
cookie.  ``session.regenerate()`` moves the data under a fresh id (session fixation).

Every page of a login reads and writes this row, so a write never reads it first: one UPDATE
(or INSERT under a new id), committed with whatever the request left uncommitted.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import Flask, Request, Response
from flask.sessions import SessionInterface, SessionMixin
from sqlalchemy import bindparam, delete, insert, select, update
from werkzeug.datastructures import CallbackDict

from idp.clock import utcnow
from idp.database import db
from idp.models import BrowserSession

COOKIE_NAME = "idp_session"


def _row_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ServerSideSession(CallbackDict, SessionMixin):
    def __init__(self, data: dict | None = None, token: str | None = None):
        def on_update(self: ServerSideSession) -> None:
            self.modified = True

        super().__init__(data or {}, on_update)
        #: The cookie value; a row is stored under its hash whenever it is set.
        self.token = token
        self.new = token is None
        self.modified = False
        self.regenerate_requested = False

    def regenerate(self) -> None:
        """Give this session a new id at the next save; the old id stops working."""
        self.regenerate_requested = True
        self.modified = True


_TABLE = BrowserSession.__table__
_READ = select(_TABLE.c.data, _TABLE.c.expires_at).where(_TABLE.c.id_hash == bindparam("key"))


class DatabaseSessionInterface(SessionInterface):
    def open_session(self, app: Flask, request: Request) -> ServerSideSession:
        token = request.cookies.get(COOKIE_NAME)
        # No cookie (every protocol call from a relying party): no database read at all.
        if not token or len(token) > 128:
            return ServerSideSession()
        row = db.session.execute(_READ, {"key": _row_key(token)}).first()
        if row is None or row.expires_at <= utcnow():
            return ServerSideSession()
        return ServerSideSession(dict(row.data), token)

    def save_session(self, app: Flask, session: ServerSideSession, response: Response) -> None:
        if not session.modified:
            return
        secure = app.config["IDP"].ISSUER.startswith("https://")
        old_key = _row_key(session.token) if session.token else None
        if session.regenerate_requested or session.token is None:
            session.token = secrets.token_urlsafe(32)
        key = _row_key(session.token)
        if not session:
            db.session.execute(delete(_TABLE).where(_TABLE.c.id_hash.in_({key, old_key} - {None})))
            db.session.commit()
            response.delete_cookie(COOKIE_NAME, path="/")
            return
        ttl = app.config["IDP"].LOGIN_SESSION_TTL
        values = {"data": dict(session), "expires_at": utcnow() + timedelta(seconds=ttl)}
        # One UPDATE writes the row, and moves it to its new id when the id was regenerated
        # (session fixation); a new session, or a row swept since this request read it, is
        # inserted.
        moved = old_key is not None and db.session.execute(
            update(_TABLE).where(_TABLE.c.id_hash == old_key).values(id_hash=key, **values)).rowcount
        if not moved:
            db.session.execute(insert(_TABLE).values(id_hash=key, **values))
        db.session.commit()
        response.set_cookie(
            COOKIE_NAME, session.token, max_age=ttl, path="/", httponly=True, secure=secure, samesite="Lax"
        )
