"""Self-registration state (docs/domain.md §1.3, §1.6, §1.7): one server-side record per registration in progress,
and the service hall's real-name records that let hall-first documents register.

Neither table ever holds a password or an SMS code: a registration keeps only the argon2id hash
of the chosen password, and the account exists only once the last step succeeds.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idp.core.columns import UTCDateTime, utcnow
from idp.core.database import Model
from idp.core.personal_data_fields import personal_data


class Registration(Model):
    """One natural person's registration in progress; deleted when the account is created."""

    __tablename__ = "registration"

    #: Random, at least 128 bits; the only handle a browser session or the mobile app holds.
    id: Mapped[str] = mapped_column(String(43), primary_key=True)
    #: The next step expected: phone, username, password, face_consent, face, or hall (a dead end).
    step: Mapped[str] = mapped_column(String(16), nullable=False)
    doc_type: Mapped[str] = mapped_column(String(32), nullable=False)
    doc_number_sealed: Mapped[str] = mapped_column(Text, nullable=False)
    doc_number_index: Mapped[str] = mapped_column(String(64), nullable=False)
    doc_number = personal_data("doc_number", bound_to="id")
    #: Issuing country, only for foreign passports.
    doc_country: Mapped[str | None] = mapped_column(String(3), nullable=True)
    name_sealed: Mapped[str] = mapped_column(Text, nullable=False)
    name = personal_data("name", bound_to="id", searchable=False)
    #: The phone the registration code was sent to; verified once ``phone_verified``.
    phone_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    phone = personal_data("phone", bound_to="id", searchable=False, nullable=True)
    phone_verified: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    username: Mapped[str | None] = mapped_column(String(64), nullable=True)
    password_hash: Mapped[str | None] = mapped_column(String(256), nullable=True)
    face_check_id: Mapped[str | None] = mapped_column(String(43), nullable=True)
    face_failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    #: A service hall collected this person's real-name information: no face scan is needed.
    via_service_hall: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)


class RealnameRecord(Model):
    """Real-name information a service hall collected (``idp realname record``), docs/domain.md §1.6 and §1.7."""

    __tablename__ = "realname_record"
    __table_args__ = (UniqueConstraint("doc_type", "doc_number_index", name="uq_realname_record_document"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    doc_type: Mapped[str] = mapped_column(String(32), nullable=False)
    # Bound to the document's index, not the id: the id is not known before the insert, and the
    # document is what identifies the record (unique, never changed once the record exists).
    doc_number_sealed: Mapped[str] = mapped_column(Text, nullable=False)
    doc_number_index: Mapped[str] = mapped_column(String(64), nullable=False)
    doc_number = personal_data("doc_number", bound_to="doc_number_index")
    doc_country: Mapped[str | None] = mapped_column(String(3), nullable=True)
    name_sealed: Mapped[str] = mapped_column(Text, nullable=False)
    name = personal_data("name", bound_to="doc_number_index", searchable=False)
    #: The phone the person gave at the hall; when set, only a registration verifying it may use
    #: the record (a stranger who knows the name and number cannot take it).
    phone_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    phone = personal_data("phone", bound_to="doc_number_index", searchable=False, nullable=True)
    #: 4, or 5 when the hall collected the information in person.
    realname_level: Mapped[int] = mapped_column(Integer, nullable=False, default=4)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
