"""Server-side challenges of the tax digital certificate login (single use, short-lived)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from idp.core.columns import UTCDateTime, utcnow
from idp.core.database import Model


class CertificateChallenge(Model):
    """A challenge handed to the signing agent; deleted by the one response that uses it."""

    __tablename__ = "certificate_challenge"

    #: SHA-256 of the challenge (hex): a leaked table row cannot be answered for someone else.
    challenge_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
