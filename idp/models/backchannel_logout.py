"""The back-channel logout queue: one row per logout message to one relying party.

Rows outlive worker restarts; a worker claims a row by one guarded UPDATE (with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL) and a lease, so two workers never send one message
at the same time, and a crashed worker's rows are picked up once their lease runs out.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idp.core.columns import UTCDateTime, utcnow
from idp.core.database import Model

PENDING = "pending"
SENDING = "sending"
FAILED = "failed"


class BackchannelLogout(Model):
    __tablename__ = "backchannel_logout"
    __table_args__ = (Index("ix_backchannel_logout_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The logout token's ``jti``: the same for every attempt, so a relying party can drop repeats.
    jti: Mapped[str] = mapped_column(String(43), unique=True, nullable=False)
    client_id: Mapped[str] = mapped_column(String(64), nullable=False)
    #: Where to POST, as registered when the session ended.
    uri: Mapped[str] = mapped_column(Text, nullable=False)
    #: The ended login session (``sid``) and the person's ``sub`` as this client knows it.
    sid: Mapped[str] = mapped_column(String(43), nullable=False)
    sub: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    #: Set by the worker that claimed the row; its result is recorded only under the same claim.
    claim: Mapped[str | None] = mapped_column(String(43), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
