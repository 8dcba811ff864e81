"""Server-side session records: the browser's cookie record and the SSO login session."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.core.columns import JSONType, UTCDateTime, utcnow
from idp.core.database import Model


class BrowserSession(Model):
    """What the opaque cookie points at: CSRF token, pending login steps, the login session."""

    __tablename__ = "browser_session"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[dict] = mapped_column(JSONType, nullable=False, default=dict)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)


class LoginSession(Model):
    """A completed login (docs/architecture.md §5.4): who, when, which factors, what strength, for what."""

    __tablename__ = "login_session"

    #: Public session id; the ``sid`` claim of tokens.
    id: Mapped[str] = mapped_column(String(43), primary_key=True)
    #: Who logged in: a person, or (dual-track, until the sunset) an old enterprise login; never both.
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), nullable=True,
                                                  index=True)
    legacy_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("legacy_enterprise_account.id", ondelete="CASCADE"), nullable=True, index=True)
    auth_time: Mapped[int] = mapped_column(Integer, nullable=False)
    amr: Mapped[list] = mapped_column(JSONType, nullable=False)
    acr: Mapped[str] = mapped_column(String(64), nullable=False)
    business: Mapped[str] = mapped_column(String(32), nullable=False, default="natural_person")
    entity_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    entity: Mapped[dict | None] = mapped_column(JSONType, nullable=True)
    act: Mapped[dict | None] = mapped_column(JSONType, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    #: Indexed for the sweep that ends expired sessions (and sends their back-channel logouts).
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    #: Indexed for the retention purge of long-ended sessions (idp.housekeeping.retention).
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
