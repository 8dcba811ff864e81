"""Second factors a person enrols in the account centre: security keys (WebAuthn) and app codes (TOTP)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idp.core.columns import UTCDateTime, utcnow
from idp.core.database import Model


class SecurityKey(Model):
    """One registered WebAuthn credential (W3C WebAuthn Level 2, section 7.1 step 25)."""

    __tablename__ = "security_key"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), nullable=False, index=True)
    #: base64url of the credential id (at most 1,023 bytes by the spec).
    credential_id: Mapped[str] = mapped_column(String(1400), nullable=False, unique=True)
    #: COSE_Key of the credential, as the authenticator gave it.
    public_key: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    #: Signature counter (32 bits unsigned, hence BigInteger); 0 for keys that keep none.
    sign_count: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AppCode(Model):
    """A person's time-based code generator (RFC 6238); at most one per person.

    The shared secret is stored AES-GCM encrypted (see :mod:`idp.factors.app_code`).  Until
    ``confirmed_at`` is set the enrolment is only pending and cannot be used to log in.
    """

    __tablename__ = "app_code"

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    secret_encrypted: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: RFC 6238 section 5.2: the last accepted time step; a code of that step or an earlier one is refused.
    last_timecode: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
