"""Pushed authorization requests (RFC 9126): the parameters behind one ``request_uri``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from idp.core.columns import JSONType, UTCDateTime, utcnow
from idp.core.database import Model


class PushedAuthorizationRequest(Model):
    __tablename__ = "pushed_authorization_request"

    #: SHA-256 of the request_uri; the URI itself is a bearer reference and never stored.
    request_uri_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), nullable=False)
    #: The validated authorization request as ``[name, value]`` pairs.
    params: Mapped[list] = mapped_column(JSONType, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    #: Set when /authorize took it: a request_uri is single use.
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
