"""Authorization codes, grants (token families), refresh tokens and the access-token deny-list.

Access tokens are JWTs and are not stored: a grant row says whether its family is alive,
and the deny-list holds individually revoked ``jti`` values until they expire.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idp.core.columns import JSONType, UTCDateTime, utcnow
from idp.core.database import Model


class Grant(Model):
    """One login's authorization of one client: every token from one code belongs to it."""

    __tablename__ = "grant"

    id: Mapped[str] = mapped_column(String(43), primary_key=True)
    #: The login's subject, as on :class:`~idp.models.session.LoginSession`: a person or an old enterprise login.
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), nullable=True,
                                                  index=True)
    legacy_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("legacy_enterprise_account.id", ondelete="CASCADE"), nullable=True, index=True)
    client_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    login_session_id: Mapped[str] = mapped_column(String(43), nullable=False, index=True)
    scope: Mapped[str] = mapped_column(String(512), nullable=False)
    auth_time: Mapped[int] = mapped_column(Integer, nullable=False)
    acr: Mapped[str] = mapped_column(String(64), nullable=False)
    amr: Mapped[list] = mapped_column(JSONType, nullable=False)
    #: Business entry and the taxpayer acted for, as chosen at login (refresh re-checks the role).
    business: Mapped[str] = mapped_column(String(32), nullable=False, default="natural_person")
    entity_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    entity: Mapped[dict | None] = mapped_column(JSONType, nullable=True)
    #: RFC 8693 ``act``: the agency an agent acts through.
    act: Mapped[dict | None] = mapped_column(JSONType, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    #: Absolute end of the family, whatever refreshes happen (indexed for idp.housekeeping.retention).
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_reason: Mapped[str | None] = mapped_column(String(64), nullable=True)


class AuthorizationCode(Model):
    __tablename__ = "authorization_code"

    #: Keyed hash of the code; the code itself is never stored.
    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    grant_id: Mapped[str] = mapped_column(ForeignKey("grant.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[str] = mapped_column(String(64), nullable=False)
    redirect_uri: Mapped[str] = mapped_column(Text, nullable=False)
    scope: Mapped[str] = mapped_column(String(512), nullable=False)
    nonce: Mapped[str | None] = mapped_column(String(255), nullable=True)
    code_challenge: Mapped[str] = mapped_column(String(128), nullable=False)
    code_challenge_method: Mapped[str] = mapped_column(String(8), nullable=False)
    #: RFC 9449 section 10: only a DPoP proof with this key thumbprint may redeem the code.
    dpop_jkt: Mapped[str | None] = mapped_column(String(43), nullable=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    #: Indexed for the retention purge (idp.housekeeping.retention), like every expiry below.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class RefreshToken(Model):
    __tablename__ = "refresh_token"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    grant_id: Mapped[str] = mapped_column(ForeignKey("grant.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[str] = mapped_column(String(64), nullable=False)
    scope: Mapped[str] = mapped_column(String(512), nullable=False)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    #: Set when rotated: presenting it again is reuse and revokes the family.
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: RFC 9449 section 5: using it needs a DPoP proof with this key thumbprint.
    dpop_jkt: Mapped[str | None] = mapped_column(String(43), nullable=True)


class RevokedToken(Model):
    """Deny-list of individually revoked access tokens, kept until they would have expired."""

    __tablename__ = "revoked_token"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)


class UsedAssertion(Model):
    """``jti`` values of client assertions already accepted (RFC 7523 section 3, replay)."""

    __tablename__ = "used_assertion"

    jti_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
