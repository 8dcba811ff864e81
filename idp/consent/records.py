"""A person's consent decision for a third-party client (persisted, revocable)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idp.core.columns import UTCDateTime, utcnow
from idp.core.database import Model


class ConsentRecord(Model):
    __tablename__ = "consent_record"
    __table_args__ = (UniqueConstraint("person_id", "client_id", "scope", name="uq_consent"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[str] = mapped_column(String(64), nullable=False)
    #: The granted scopes, sorted and space-separated: one record per distinct scope set.
    scope: Mapped[str] = mapped_column(String(512), nullable=False)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
