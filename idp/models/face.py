"""Face verification state: our checks, consents, and the development provider's own sessions.

No image is ever stored: only the provider's session id, its result reference and scores.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idp.core.columns import UTCDateTime, utcnow
from idp.core.database import Model
from idp.core.personal_data_fields import personal_data


class FaceCheck(Model):
    """One face verification we asked a provider for, bound to one identity and purpose."""

    __tablename__ = "face_check"

    id: Mapped[str] = mapped_column(String(43), primary_key=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), nullable=True)
    purpose: Mapped[str] = mapped_column(String(32), nullable=False)
    doc_type: Mapped[str] = mapped_column(String(32), nullable=False)
    doc_number_sealed: Mapped[str] = mapped_column(Text, nullable=False)
    doc_number_index: Mapped[str] = mapped_column(String(64), nullable=False)
    doc_number = personal_data("doc_number", bound_to="id")
    provider_session_id: Mapped[str] = mapped_column(String(128), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: pending, passed, failed
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    result_ref: Mapped[str | None] = mapped_column(String(128), nullable=True)
    similarity: Mapped[float | None] = mapped_column(Float, nullable=True)
    liveness_passed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    #: Set when a login, registration or reset spent this check: a result counts once.
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class FaceConsent(Model):
    """Separate consent to face processing (PIPL art. 29), per identity document."""

    __tablename__ = "face_consent"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    doc_type: Mapped[str] = mapped_column(String(32), nullable=False)
    # Bound to the document's index (never changed once the row exists): the id is not known
    # before the insert.
    doc_number_sealed: Mapped[str] = mapped_column(Text, nullable=False)
    doc_number_index: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    doc_number = personal_data("doc_number", bound_to="doc_number_index")
    notice_version: Mapped[str] = mapped_column(String(16), nullable=False)
    given_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class DevFaceSession(Model):
    """The development provider's own record: what a real provider keeps on its side."""

    __tablename__ = "dev_face_session"

    id: Mapped[str] = mapped_column(String(43), primary_key=True)
    name_sealed: Mapped[str] = mapped_column(Text, nullable=False)
    name = personal_data("name", bound_to="id", searchable=False)
    doc_type: Mapped[str] = mapped_column(String(32), nullable=False)
    doc_number_sealed: Mapped[str] = mapped_column(Text, nullable=False)
    doc_number = personal_data("doc_number", bound_to="id", searchable=False)
    return_url: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: pending, completed
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    liveness_passed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    similarity: Mapped[float | None] = mapped_column(Float, nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
