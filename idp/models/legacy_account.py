"""The old enterprise login of the dual-track transition (docs/domain.md §1.2 and §1.8; §13).

An account of the previous e-tax system that identified an enterprise, not a person: a taxpayer
number and a shared enterprise password.  It is usable only until ``LEGACY_LOGIN_SUNSET`` and
only ever reaches ``urn:qdtax:loa:1``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.core.columns import UTCDateTime, utcnow
from idp.core.database import Model


class LegacyEnterpriseAccount(Model):
    __tablename__ = "legacy_enterprise_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Its own opaque subject identifier: a legacy login names no person.
    sub: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    #: One old login per taxpayer (the enterprise's taxpayer number is its login name).
    entity_id: Mapped[int] = mapped_column(ForeignKey("taxpayer_entity.id", ondelete="CASCADE"), unique=True,
                                           nullable=False)
    #: argon2id, or the old system's hash (idp.factors.legacy_hashes) until the first login upgrades it.
    password_hash: Mapped[str] = mapped_column(String(256), nullable=False)
    #: active, or disabled (never logs in)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    def get_user_id(self) -> str:
        return self.sub
