"""A pending QR scan login (docs/architecture.md §6), shaped after an RFC 8628 device authorization.

Every secret is stored as a digest: the device code and the QR payload (high entropy) as
SHA-256, the short user code as an HMAC under the instance secret.  The approval copies the
approving app session's login context here, once; redemption turns it into a login session.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.core.columns import JSONType, UTCDateTime, utcnow
from idp.core.database import Model


class QrLoginRequest(Model):
    __tablename__ = "qr_login_request"

    #: Random handle; the login page keeps it in the browser's server-side session only.
    id: Mapped[str] = mapped_column(String(43), primary_key=True)
    #: "device" (a client polling the token endpoint) or "login_page" (the provider's own QR tab).
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    device_code_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    payload_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    user_code_hmac: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    #: The client asking: the polling client, or the relying party of the login page's request.
    client_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    scope: Mapped[str] = mapped_column(String(512), nullable=False, default="")
    requester_ip: Mapped[str | None] = mapped_column(String(45), nullable=True)
    #: pending, scanned, approved, denied, redeemed ("expired" is read from expires_at).
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    #: RFC 8628 section 3.5: grows by 5 s on every slow_down.
    poll_interval: Mapped[int] = mapped_column(Integer, nullable=False)
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    #: Digest naming the app session (or external app) that scanned: only it may decide.
    approver_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    approver_client_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    scanned_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: The login the approval grants (docs/architecture.md §5.4), copied from the approving app session.
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), nullable=True)
    auth_time: Mapped[int | None] = mapped_column(Integer, nullable=True)
    acr: Mapped[str | None] = mapped_column(String(64), nullable=True)
    amr: Mapped[list | None] = mapped_column(JSONType, nullable=True)
    business: Mapped[str | None] = mapped_column(String(32), nullable=True)
    entity_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    entity: Mapped[dict | None] = mapped_column(JSONType, nullable=True)
    act: Mapped[dict | None] = mapped_column(JSONType, nullable=True)


class QrLookupFailure(Model):
    """Unknown QR codes presented by one app or one IP in the current window (user-code guessing)."""

    __tablename__ = "qr_lookup_failure"

    #: Digest of "approver:<key>" or "ip:<address>".
    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
