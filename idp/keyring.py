"""The signing keyring: which key signs, which keys are published (DESIGN.md section 8).

Keys live in the ``keys/`` folder: one PEM per key (encrypted with ``IDP_KEY_PASSPHRASE``
when set) and ``keyring.json`` with each key's state.  ``kid`` is the RFC 7638 thumbprint.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc.jwk import ECKey, KeySet

STATES_PUBLISHED = ("next", "active", "retired")


class KeyringError(RuntimeError):
    """The keyring cannot be used as configured; the message says why."""


@dataclass(frozen=True)
class SigningKey:
    kid: str
    alg: str
    state: str
    created_at: int
    key: ECKey


def _key_from_pem(pem: bytes, passphrase: str) -> ECKey:
    try:
        private = serialization.load_pem_private_key(pem, password=passphrase.encode() or None)
    except (TypeError, ValueError) as exc:
        raise KeyringError(
            "a private key in the keyring cannot be decrypted: check IDP_KEY_PASSPHRASE"
        ) from exc
    return ECKey.import_key(private)


def _pem_for(private: ec.EllipticCurvePrivateKey, passphrase: str) -> bytes:
    encryption = (
        serialization.BestAvailableEncryption(passphrase.encode())
        if passphrase
        else serialization.NoEncryption()
    )
    return private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def _write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Keyring:
    """The file-backed keyring; reloads ``keyring.json`` when another process changes it."""

    def __init__(self, directory: str | Path, passphrase: str = "", *, production: bool = False):
        self.directory = Path(directory)
        self.passphrase = passphrase
        if production and not passphrase:
            raise KeyringError(
                "IDP_KEY_PASSPHRASE is not set: in production private signing keys must be "
                "encrypted at rest, so the provider refuses to start without it"
            )
        self._loaded_mtime: float | None = None
        self._keys: list[SigningKey] = []
        self._checked_at = 0.0

    @property
    def _index_path(self) -> Path:
        return self.directory / "keyring.json"

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / ".lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def ensure_initialised(self) -> None:
        """Create the first active key on first start (idempotent across workers)."""
        with self._locked():
            if self._index_path.exists():
                return
            private = ec.generate_private_key(ec.SECP256R1())
            key = ECKey.import_key(private)
            kid = key.thumbprint()
            _write_atomically(self.directory / f"{kid}.pem", _pem_for(private, self.passphrase))
            index = {"keys": [{"kid": kid, "alg": "ES256", "state": "active", "created_at": int(time.time())}]}
            _write_atomically(self._index_path, json.dumps(index, indent=2).encode())

    def _refresh(self) -> None:
        # A stat at most once a second keeps every worker within a second of a rotation.
        now = time.monotonic()
        if self._keys and now - self._checked_at < 1.0:
            return
        self._checked_at = now
        try:
            mtime = self._index_path.stat().st_mtime
        except FileNotFoundError as exc:
            raise KeyringError(f"no keyring in {self.directory}: run `idp serve` or `idp keys init`") from exc
        if mtime == self._loaded_mtime:
            return
        index = json.loads(self._index_path.read_text())
        keys = []
        for entry in index["keys"]:
            if entry["state"] not in STATES_PUBLISHED:
                continue
            pem = (self.directory / f"{entry['kid']}.pem").read_bytes()
            key = _key_from_pem(pem, self.passphrase)
            key.ensure_kid()
            keys.append(SigningKey(entry["kid"], entry["alg"], entry["state"], entry["created_at"], key))
        self._keys = keys
        self._loaded_mtime = mtime

    def active_key(self) -> SigningKey:
        """The one key that signs now."""
        self._refresh()
        for key in self._keys:
            if key.state == "active":
                return key
        raise KeyringError("the keyring has no active key")

    def public_jwks(self) -> dict:
        """Every published key (next, active, retired), public parts only."""
        self._refresh()
        return {"keys": [k.key.as_dict(private=False, kid=k.kid, alg=k.alg, use="sig") for k in self._keys]}

    def verification_keys(self) -> KeySet:
        """Keys whose signatures this provider still honours (its own tokens, id_token_hint)."""
        self._refresh()
        return KeySet([k.key for k in self._keys])
