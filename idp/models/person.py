"""A natural person's account: the one subject every login reaches (docs/domain.md §2.1)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, Text, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from idp.core.columns import UTCDateTime, utcnow
from idp.core.database import Model
from idp.core.personal_data_fields import personal_data


class Person(Model):
    __tablename__ = "person"
    __table_args__ = (
        # Uniqueness on the blind indexes (docs/privacy.md): the sealed values differ every time.
        UniqueConstraint("doc_type", "doc_number_index", name="uq_person_document"),
        UniqueConstraint("phone_index", name="uq_person_phone"),
        # docs/domain.md §1.13: a username is unique whatever the letter case (migration 0014).
        Index("uq_person_username_lower", func.lower(text("username")), unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Stable opaque subject identifier; never the document number.
    sub: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    doc_type: Mapped[str] = mapped_column(String(32), nullable=False)
    doc_number_sealed: Mapped[str] = mapped_column(Text, nullable=False)
    doc_number_index: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    doc_number = personal_data("doc_number", bound_to="sub")
    doc_country: Mapped[str] = mapped_column(String(3), nullable=False, default="CHN")
    name_sealed: Mapped[str] = mapped_column(Text, nullable=False)
    name = personal_data("name", bound_to="sub", searchable=False)
    phone_sealed: Mapped[str] = mapped_column(Text, nullable=False)
    phone_index: Mapped[str] = mapped_column(String(64), nullable=False)
    phone = personal_data("phone", bound_to="sub")
    username: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    username_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    password_hash: Mapped[str] = mapped_column(String(256), nullable=False)
    #: True while the password is the initial one (last six of the document): forces a change.
    password_is_initial: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    realname_level: Mapped[int] = mapped_column(Integer, nullable=False, default=4)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    def get_user_id(self) -> str:
        """authlib's user hook: the public subject, never the row id."""
        return self.sub
