"""Short-lived factor state: issued SMS codes and per-method failure counters."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.core.columns import UTCDateTime, utcnow
from idp.core.database import Model
from idp.core.personal_data_fields import BlindIndex


class SmsCode(Model):
    __tablename__ = "sms_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Only the phone's blind index (docs/privacy.md): the code was sent, the number is not needed again.
    phone: Mapped[str] = mapped_column(BlindIndex, nullable=False, index=True)
    purpose: Mapped[str] = mapped_column(String(32), nullable=False)
    #: HMAC-SHA256 of the code under the instance secret.
    code_hmac: Mapped[str] = mapped_column(String(64), nullable=False)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    local_day: Mapped[date] = mapped_column(Date, nullable=False)
    #: Indexed for the retention purge (idp.housekeeping.retention).
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    tries: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    consumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class LockoutCounter:
    """Consecutive failures of one method on one local day (docs/domain.md §1.14); the subject is the subclass's key."""

    method: Mapped[str] = mapped_column(String(16), primary_key=True)
    local_day: Mapped[date] = mapped_column(Date, nullable=False)
    failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class MethodLockout(LockoutCounter, Model):
    """A person's counters."""

    __tablename__ = "method_lockout"

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)


class LegacyAccountLockout(LockoutCounter, Model):
    """An old enterprise login's counters (it has no person to count against)."""

    __tablename__ = "legacy_account_lockout"

    legacy_account_id: Mapped[int] = mapped_column(
        ForeignKey("legacy_enterprise_account.id", ondelete="CASCADE"), primary_key=True)
