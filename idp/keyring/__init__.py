"""The signing keyring: which key signs, which keys are published (DESIGN.md section 8).

Each worker keeps the decoded keys in memory and re-reads the store when it changed (checked
at most every ``KEYRING_REFRESH_SECONDS``), so a rotation reaches every worker without a
restart and well within the JWKS max-age.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Protocol

from joserfc.jwk import ECKey, KeySet, OKPKey, RSAKey
from sqlalchemy.exc import SQLAlchemyError

from idp.database_outages import check_unavailable
from idp.keyring import lifecycle
from idp.keyring.database_store import DatabaseKeyStore
from idp.keyring.file_store import FileKeyStore
from idp.keyring.records import (
    ALGORITHMS,
    DEFAULT_ALGORITHM,
    ID_TOKEN_DEFAULT_ALGORITHM,
    KeyRecord,
    KeyringError,
    load_jwk,
)
from idp.settings import Settings

__all__ = [
    "ALGORITHMS", "DEFAULT_ALGORITHM", "ID_TOKEN_DEFAULT_ALGORITHM", "Keyring", "KeyringError", "SigningKey",
    "create_keyring",
]


class KeyStore(Protocol):
    def version(self) -> object: ...
    def load(self) -> list[KeyRecord]: ...
    def transact(self, change) -> list[KeyRecord]: ...


@dataclass(frozen=True)
class SigningKey:
    kid: str
    alg: str
    key: ECKey | RSAKey | OKPKey


class Keyring:
    def __init__(self, store: KeyStore, settings: Settings):
        if settings.is_production and not settings.KEY_PASSPHRASE:
            raise KeyringError(
                "IDP_KEY_PASSPHRASE is not set: in production private signing keys must be encrypted at rest, "
                "so the provider refuses to start without it"
            )
        self.store = store
        self.passphrase = settings.KEY_PASSPHRASE
        self.jwks_max_age = settings.JWKS_MAX_AGE
        self.refresh_seconds = settings.KEYRING_REFRESH_SECONDS
        self.rotate_every = settings.KEY_ROTATION_DAYS * 86400
        # A retired key stays published until the last token it could have signed expires, and
        # as long as an ID token it signed may come back as an id_token_hint: relying parties
        # keep it for the whole login session (RP-initiated logout must still work with it).
        self.retire_window = max(settings.ACCESS_TOKEN_TTL, settings.ID_TOKEN_TTL,
                                 settings.LOGIN_SESSION_TTL) + self.refresh_seconds + 60
        self._lock = threading.Lock()
        self._version: object = None
        self._records: list[KeyRecord] = []
        self._jwks: dict[str, ECKey | RSAKey | OKPKey] = {}
        self._checked_at = float("-inf")
        self._document: tuple[tuple[str, ...], bytes] | None = None

    # -- reading -----------------------------------------------------------------------------
    def _current(self) -> list[KeyRecord]:
        now = time.monotonic()
        if now - self._checked_at < self.refresh_seconds:
            return self._records
        with self._lock:
            if now - self._checked_at < self.refresh_seconds:
                return self._records
            try:
                self._reload()
            except SQLAlchemyError as error:
                # The database store is unreachable: keep signing with, and publishing, the keys
                # loaded last (the outage is logged by idp/database_outages.py); a rotation
                # reaches this worker once the store answers again.
                if not self._records or not check_unavailable(error):
                    raise
            self._checked_at = now
        return self._records

    def _reload(self) -> None:
        version = self.store.version()
        if version is None:
            raise KeyringError("the keyring is empty: start the provider once (`idp serve`) to create it")
        if version != self._version:
            records = self.store.load()
            self._jwks = {r.kid: self._jwks.get(r.kid) or load_jwk(r, self.passphrase)
                          for r in lifecycle.published(records, int(time.time()))}
            self._records, self._version = records, version

    def records(self) -> list[KeyRecord]:
        """Every stored key, whatever its state (for ``idp keys list``)."""
        return self.store.load()

    def active_key(self, alg: str = DEFAULT_ALGORITHM) -> SigningKey:
        """The one key that signs ``alg`` now."""
        for record in self._current():
            if record.alg == alg and record.state == "active":
                return SigningKey(record.kid, alg, self._jwks[record.kid])
        raise KeyringError(f"the keyring has no active {alg} key")

    def _published(self) -> list[KeyRecord]:
        return lifecycle.published(self._current(), int(time.time()))

    def public_jwks(self) -> dict:
        """next + active + retired keys, public parts only (revoked keys are gone at once)."""
        return {"keys": [self._jwks[r.kid].as_dict(private=False) for r in self._published()]}

    def public_jwks_document(self) -> bytes:
        """The serialized JWKS, rebuilt only when the set of published keys changes (hot path)."""
        kids = tuple(r.kid for r in self._published())
        if self._document is None or self._document[0] != kids:
            self._document = (kids, json.dumps(self.public_jwks()).encode())
        return self._document[1]

    def verification_keys(self) -> KeySet:
        """Keys whose signatures this provider still honours (its own tokens, id_token_hint)."""
        return KeySet([self._jwks[r.kid] for r in self._published()])

    # -- changing ----------------------------------------------------------------------------
    def _changed(self, records: list[KeyRecord]) -> list[KeyRecord]:
        self._checked_at = float("-inf")
        return records

    def ensure_initialised(self) -> None:
        """Create the first keys on first start (idempotent across workers and nodes), and load
        them: from then on this worker signs and publishes from memory, even while the store is
        unreachable."""
        self._changed(self.store.transact(
            lambda records: records or lifecycle.initial_records(int(time.time()), self.passphrase)))
        self._current()

    def rotate(self, *, force: bool = False) -> list[KeyRecord]:
        return self._changed(self.store.transact(lambda records: lifecycle.rotate(
            records, int(time.time()), min_published=self.jwks_max_age, retire_window=self.retire_window,
            passphrase=self.passphrase, force=force)))

    def revoke(self, kid: str) -> list[KeyRecord]:
        return self._changed(self.store.transact(
            lambda records: lifecycle.revoke(records, kid, int(time.time()), self.passphrase)))

    def prune(self) -> list[KeyRecord]:
        return self._changed(self.store.transact(lambda records: lifecycle.prune(records, int(time.time()))))

    def active_since(self) -> dict[str, int]:
        """When each algorithm's active key began to sign (epoch seconds)."""
        return {r.alg: r.activated_at or r.created_at for r in self._current() if r.state == "active"}

    def rotation_due(self) -> bool:
        """True when the automatic schedule (``KEY_ROTATION_DAYS``) says the active key is old enough."""
        if not self.rotate_every:
            return False
        since = self.active_since().get(DEFAULT_ALGORITHM)
        return since is not None and time.time() - since >= self.rotate_every


def create_keyring(settings: Settings) -> Keyring:
    """The keyring over the store named by ``KEYRING_STORE``."""
    if settings.KEYRING_STORE == "file":
        return Keyring(FileKeyStore(settings.KEYS_DIR), settings)
    if settings.KEYRING_STORE == "database":
        return Keyring(DatabaseKeyStore(), settings)
    raise KeyringError(f"unknown IDP_KEYRING_STORE {settings.KEYRING_STORE!r}: use 'file' or 'database'")
