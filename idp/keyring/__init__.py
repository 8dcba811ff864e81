"""The signing keyring: which key signs, which keys are published (docs/architecture.md §8).

Each worker keeps the decoded keys in memory and re-reads the store when it changed (checked
at most every ``KEYRING_REFRESH_SECONDS``), so a rotation reaches every worker without a
restart and well within the JWKS max-age. Every key is checked before a node serves; one that
cannot be read later (a broken write, the database unreachable) leaves the node serving the
keys it read last.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Protocol

from flask import Flask, current_app
from joserfc.jwk import ECKey, KeySet, OKPKey, RSAKey
from sqlalchemy.exc import SQLAlchemyError

from idp.core.database_outages import check_unavailable
from idp.core.settings import Settings
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

__all__ = [
    "ALGORITHMS", "DEFAULT_ALGORITHM", "ID_TOKEN_DEFAULT_ALGORITHM", "Keyring", "KeyringError", "SigningKey",
    "create_keyring",
]

log = logging.getLogger(__name__)


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
        self._unreadable_reason: str | None = None

    # -- reading -----------------------------------------------------------------------------
    def check_due(self) -> bool:
        """Whether the next read goes to the store (the others answer from memory, in no context)."""
        return time.monotonic() - self._checked_at >= self.refresh_seconds

    def _current(self) -> list[KeyRecord]:
        if not self.check_due():
            return self._records
        now = time.monotonic()
        # One thread re-reads the store; the others go on with the keys they have meanwhile.
        if not self._lock.acquire(blocking=not self._records):
            return self._records
        try:
            if now - self._checked_at < self.refresh_seconds:
                return self._records
            try:
                self._reload()
            except (KeyringError, SQLAlchemyError, OSError) as error:
                if self._version is None:
                    raise
                # An unreachable database is logged as an outage already (idp/core/database_outages.py).
                if not (isinstance(error, SQLAlchemyError) and check_unavailable(error)):
                    self._report_unreadable(error)
            else:
                if self._unreadable_reason is not None:
                    log.warning("the keyring can be read again; serving what it holds now")
                    self._unreadable_reason = None
            self._checked_at = now
        finally:
            self._lock.release()
        return self._records

    def _reload(self) -> None:
        """Read the store again if it changed; every key in it decoded and checked, or nothing replaced."""
        version = self.store.version()
        if version is None:
            raise KeyringError("the keyring is empty: start the provider once (`idp serve`) to create it")
        if version != self._version:
            records = self.store.load()
            # Revoked keys sign and verify nothing again; they keep their material only until pruned.
            self._jwks = {r.kid: self._jwks.get(r.kid) or load_jwk(r, self.passphrase)
                          for r in records if r.state != "revoked"}
            self._records, self._version = records, version

    def _report_unreadable(self, error: Exception) -> None:
        """Keep serving the last good keys (another node may have written a broken one, or the
        store may be unreachable): the JWKS and tokens go on; the log says why, once per reason."""
        reason = str(error).splitlines()[0]
        if reason != self._unreadable_reason:
            log.warning("the keyring cannot be read (%s); still serving the keys read before", reason)
            self._unreadable_reason = reason

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

    def ensure_initialised(self, *, check: bool = True) -> None:
        """Create the first keys on first start (idempotent across workers and nodes), then read
        and check every key (unless ``check`` is false): a broken one stops the start with where
        it is and what is wrong, rather than failing the JWKS and every login later.

        Only an empty keyring is written to, so a read-only keys folder (a mounted secret)
        that holds the keys already serves."""
        if not self.store.load():
            self.store.transact(
                lambda records: records or lifecycle.initial_records(int(time.time()), self.passphrase))
        if check:
            with self._lock:
                self._reload()
                self._checked_at = time.monotonic()

    def rotate(self, *, force: bool = False) -> list[KeyRecord]:
        """Promote the next keys; refused while a key the nodes would load cannot be read (with
        this passphrase): they would keep the old keys. Revoking that key comes first."""

        def change(records: list[KeyRecord]) -> list[KeyRecord]:
            rotated = lifecycle.rotate(records, int(time.time()), min_published=self.jwks_max_age,
                                       retire_window=self.retire_window, passphrase=self.passphrase, force=force)
            for record in rotated:
                if record.state != "revoked":
                    load_jwk(record, self.passphrase)
            return rotated

        return self._changed(self.store.transact(change))

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


KEYRING_EXTENSION = "idp.keyring"


def current_keyring(app: Flask | None = None) -> Keyring:
    """The keyring of ``app`` (by default the current one), as :func:`idp.app.create_app` installed it."""
    return (app or current_app).extensions[KEYRING_EXTENSION]


def create_keyring(settings: Settings) -> Keyring:
    """The keyring over the store named by ``KEYRING_STORE``."""
    if settings.KEYRING_STORE == "file":
        return Keyring(FileKeyStore(settings.KEYS_DIR), settings)
    if settings.KEYRING_STORE == "database":
        return Keyring(DatabaseKeyStore(), settings)
    raise KeyringError(f"unknown IDP_KEYRING_STORE {settings.KEYRING_STORE!r}: use 'file' or 'database'")
