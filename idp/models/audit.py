"""The append-only audit log: every authentication, consent, token, key and admin event."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text, UniqueConstraint, column
from sqlalchemy.orm import Mapped, mapped_column

from idp.core.columns import JSONType, UTCDateTime, utcnow
from idp.core.database import Model


class AuditEvent(Model):
    __tablename__ = "audit_event"
    __table_args__ = (
        UniqueConstraint("seq", name="uq_audit_event_seq"),
        # The chainer's work list (idp.audit.chain.link_unchained): only the few records not chained yet.
        Index("ix_audit_event_unchained", "id", postgresql_where=column("seq").is_(None),
              sqlite_where=column("seq").is_(None)),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow, index=True)
    event: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    outcome: Mapped[str] = mapped_column(String(16), nullable=False)
    #: Subject of the person concerned (opaque), when known.
    subject: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    client_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: Masked details only: never secrets, codes, tokens or full identifiers.
    detail: Mapped[dict] = mapped_column(JSONType, nullable=False, default=dict)
    #: Position in the hash chain (idp.audit.chain): gapless across nodes; NULL until the chainer
    #: links the committed record (moments after its request, off the request's path).
    seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    #: SHA-256 (64 hex digits) or SM3 ("sm3:" and 64 hex digits) over the previous record's
    #: digest and this record's canonical form (idp.audit.chain); NULL with seq.
    digest: Mapped[str | None] = mapped_column(String(72), nullable=True)


class AuditChain(Model):
    """The one row holding the chain's head (locked by the one chainer at work: the order is exact) and
    its anchor: the last record retention purged, signed, where verification starts."""

    __tablename__ = "audit_chain"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    head_seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    head_digest: Mapped[str] = mapped_column(String(72), nullable=False)
    anchor_seq: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    anchor_digest: Mapped[str] = mapped_column(String(72), nullable=False)
    #: Ed25519 signature (base64url) of the anchor by the checkpoint key; empty at genesis.
    anchor_signature: Mapped[str] = mapped_column(Text, nullable=False, default="")
