"""A natural person's account: the one subject every login reaches (docs/domain.md §2.1)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from idp.core.columns import UTCDateTime, utcnow
from idp.core.database import Model


class Person(Model):
    __tablename__ = "person"
    __table_args__ = (
        UniqueConstraint("doc_type", "doc_number", name="uq_person_document"),
        # docs/domain.md §1.13: a username is unique whatever the letter case (migration 0014).
        Index("uq_person_username_lower", func.lower(text("username")), unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Stable opaque subject identifier; never the document number.
    sub: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    doc_type: Mapped[str] = mapped_column(String(32), nullable=False)
    doc_number: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    doc_country: Mapped[str] = mapped_column(String(3), nullable=False, default="CHN")
    name: Mapped[str] = mapped_column(String(128), nullable=False)
    phone: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
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
