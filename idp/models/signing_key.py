"""Signing keys in the database (the keyring's multi-node store)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idp.core.database import Model


class SigningKeyRow(Model):
    __tablename__ = "signing_key"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(16), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    activated_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    retired_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    retire_after: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    #: PKCS#8 PEM, encrypted with the key-encryption passphrase outside development.
    private_pem: Mapped[str] = mapped_column(Text, nullable=False)
    #: Raised on every change so workers notice rotations with one cheap query.
    updated_seq: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
