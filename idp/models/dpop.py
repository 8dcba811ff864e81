"""DPoP proofs already accepted (RFC 9449 section 11.1), kept until they could no longer pass."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from idp.core.columns import UTCDateTime
from idp.core.database import Model


class SeenDpopProof(Model):
    __tablename__ = "dpop_proof"

    #: SHA-256 of the proof key's thumbprint and the proof's ``jti``.
    jti_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
