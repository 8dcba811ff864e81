"""Signed checkpoints of the audit chain: the head's sequence number and digest, signed with
an Ed25519 key of their own and written to a file the operator ships off the database, so a
truncated or recomputed chain shows against the last checkpoint."""

from __future__ import annotations

import base64
import json
import logging
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.core.database import db
from idp.core.database_outages import log_task_failure
from idp.core.settings import Settings, current_settings
from idp.housekeeping.interval_gate import IntervalGate
from idp.models import AuditEvent

log = logging.getLogger(__name__)
GENESIS = "0" * 64

KEY_FILE = "audit-checkpoint-ed25519.pem"


class CheckpointError(Exception):
    """A checkpoint that cannot be read or whose signature does not verify."""


def checkpoint_key(settings: Settings) -> Ed25519PrivateKey:
    """The instance's checkpoint key, created on first use (every node must share the file)."""
    path = settings.instance_path / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        path.touch(mode=0o600)
        path.write_bytes(pem)
    return serialization.load_pem_private_key(path.read_bytes(), password=None)  # type: ignore[return-value]


def _signed_bytes(seq: int, digest: str) -> bytes:
    return json.dumps({"seq": seq, "digest": digest}, sort_keys=True, separators=(",", ":")).encode()


def sign(key: Ed25519PrivateKey, seq: int, digest: str) -> str:
    return base64.urlsafe_b64encode(key.sign(_signed_bytes(seq, digest))).decode().rstrip("=")


def verify_signature(key: Ed25519PrivateKey, seq: int, digest: str, signature: str) -> bool:
    try:
        key.public_key().verify(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)),
                                _signed_bytes(seq, digest))
    except (InvalidSignature, ValueError):
        return False
    return True


def write_checkpoint(session: Session, key: Ed25519PrivateKey, out: Path) -> dict:
    """Sign the chain's newest record (seq 0 and the genesis digest while there is none) into ``out``;
    records not chained yet are not covered (their turn comes with the next checkpoint)."""
    head = session.execute(select(AuditEvent.seq, AuditEvent.digest).where(AuditEvent.seq.is_not(None))
                           .order_by(AuditEvent.seq.desc()).limit(1)).first()
    seq, digest = (head.seq, head.digest) if head else (0, GENESIS)
    checkpoint = {"seq": seq, "digest": digest, "at": datetime.now(UTC).isoformat(timespec="seconds"),
                  "signature": sign(key, seq, digest)}
    out.write_text(json.dumps(checkpoint) + "\n", encoding="utf-8")
    return checkpoint


class PeriodicCheckpoint:
    """A ``before_request`` hook writing a checkpoint into ``AUDIT_CHECKPOINT_DIR`` at most once per
    ``AUDIT_CHECKPOINT_SECONDS`` in this worker (one query, a signature and a small file: inline)."""

    def __init__(self, settings: Settings):
        self.directory = Path(settings.AUDIT_CHECKPOINT_DIR)
        self.key = checkpoint_key(settings)
        self.gate = IntervalGate(settings.AUDIT_CHECKPOINT_SECONDS)

    def __call__(self) -> None:
        if not self.gate.enter():
            return
        try:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            write_checkpoint(db.session(), self.key, self.directory / f"audit-checkpoint-{stamp}.json")
        except Exception as error:
            log_task_failure(log, "audit checkpoint failed; the next interval retries", error)
        finally:
            self.gate.leave()


def install_periodic_checkpoints(app: Flask) -> None:
    """Checkpoint every ``AUDIT_CHECKPOINT_SECONDS`` per worker when ``AUDIT_CHECKPOINT_DIR`` is set."""
    settings = current_settings(app)
    if settings.AUDIT_CHECKPOINT_DIR and settings.AUDIT_CHECKPOINT_SECONDS > 0:
        app.before_request(PeriodicCheckpoint(settings))


def read_checkpoint(key: Ed25519PrivateKey, path: Path) -> tuple[int, str]:
    """The seq and digest of a checkpoint file whose signature verifies."""
    try:
        checkpoint = json.loads(path.read_text(encoding="utf-8"))
        seq, digest, signature = int(checkpoint["seq"]), str(checkpoint["digest"]), str(checkpoint["signature"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise CheckpointError(f"{path} is not a checkpoint: {error}") from None
    if not verify_signature(key, seq, digest, signature):
        raise CheckpointError(f"{path}: the signature does not verify with this instance's checkpoint key")
    return seq, digest
