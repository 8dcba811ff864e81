"""Personal data encrypted at rest (docs/privacy.md, "Encrypted at rest"): the operator's data
keys, sealing and opening one value, and the keyed blind index that finds a value without
decrypting any row.

A sealed value is ``<key id>$<base64url(nonce | ciphertext | tag)>``: the key id says which of
the keys in the file opens it, so several keys coexist while ``idp pii rotate-key`` moves rows
to the current one.  The associated data names the table, the column and the row, so a value
copied into another row or column no longer opens.

The blind index is HMAC (SHA-256 or SM3) under an index key of its own, over the value made
comparable (NFKC, no whitespace, upper-case): equal values have equal indexes, so unique
constraints and lookups work on it, and it reveals nothing without the key.  The index key is
not rotated with the data keys: a new one would change every index at once.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, current_app

from idp.core.crypto_suites import NONCE_BYTES, SUITES, CryptoSuite, SealBroken
from idp.core.settings import Settings

#: The file generated into INSTANCE_DIR outside production when PII_KEYS_FILE is empty.
INSTANCE_KEYS_FILE = "pii-keys.json"
KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
SEPARATOR = "$"


#: Where the app keeps its cipher (``create_app``).
PERSONAL_DATA_EXTENSION = "idp.personal_data"


class PersonalDataKeysError(RuntimeError):
    """The key file is missing, unreadable or does not fit the settings; the message says how."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def comparable(value: str) -> str:
    """The form the blind index is computed over: ``1101 0519…x`` finds ``11010519…X``."""
    return "".join(unicodedata.normalize("NFKC", value).split()).upper()


@dataclass(frozen=True)
class PersonalDataCipher:
    suite: CryptoSuite
    #: Key id -> data key; ``current`` seals, every one opens.
    data_keys: dict[str, bytes]
    current: str
    index_key: bytes

    def seal(self, value: str, associated: str) -> str:
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self.suite.seal(self.data_keys[self.current], nonce, value.encode(), associated.encode())
        return f"{self.current}{SEPARATOR}{_b64(nonce + sealed)}"

    def open(self, token: str, associated: str) -> str:
        key_id, _, body = token.partition(SEPARATOR)
        key = self.data_keys.get(key_id)
        if key is None:
            raise SealBroken(f"personal data sealed under key {key_id!r}, which the key file does not hold")
        raw = _unb64(body)
        return self.suite.open(key, raw[:NONCE_BYTES], raw[NONCE_BYTES:], associated.encode()).decode()

    def is_current(self, token: str) -> bool:
        return token.startswith(self.current + SEPARATOR)

    def blind_index(self, value: str) -> str:
        return self.suite.keyed_digest(self.index_key, comparable(value).encode())


def current_personal_data_cipher(app: Flask | None = None) -> PersonalDataCipher:
    """The cipher of ``app`` (by default the app of the current request or command)."""
    return (app or current_app).extensions[PERSONAL_DATA_EXTENSION]


def generate_key_file(suite_name: str) -> dict[str, Any]:
    """A new key file's content: one data key (current) and the index key."""
    suite = SUITES[suite_name]
    key_id = new_key_id()
    return {"suite": suite_name, "current": key_id,
            "data_keys": {key_id: _b64(secrets.token_bytes(suite.data_key_bytes))},
            "index_key": _b64(secrets.token_bytes(32))}


def new_key_id() -> str:
    return "k" + secrets.token_hex(4)


def add_data_key(content: dict[str, Any], *, make_current: bool) -> str:
    """Add a fresh data key to a key file's content; returns its id."""
    key_id = new_key_id()
    content["data_keys"][key_id] = _b64(secrets.token_bytes(SUITES[content["suite"]].data_key_bytes))
    if make_current:
        content["current"] = key_id
    return key_id


def cipher_from_content(content: dict[str, Any], suite_name: str, source: str) -> PersonalDataCipher:
    try:
        if content["suite"] != suite_name:
            raise PersonalDataKeysError(
                f"{source} holds keys of the {content['suite']!r} suite but IDP_CRYPTO_SUITE is {suite_name!r}:"
                " the suite is chosen once per deployment (docs/operations.md)")
        suite = SUITES[suite_name]
        keys = {key_id: _unb64(text) for key_id, text in content["data_keys"].items()}
        index_key = _unb64(content["index_key"])
        current = content["current"]
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise PersonalDataKeysError(f"{source} is not a personal-data key file ({error})") from None
    if current not in keys:
        raise PersonalDataKeysError(f"{source}: the current key {current!r} is not among its data keys")
    for key_id, key in keys.items():
        if not KEY_ID.fullmatch(key_id) or len(key) != suite.data_key_bytes:
            raise PersonalDataKeysError(f"{source}: key {key_id!r} must be {suite.data_key_bytes} bytes under an id"
                                        " of letters, digits, - and _")
    if len(index_key) < 32:
        raise PersonalDataKeysError(f"{source}: the index key must be at least 32 bytes")
    return PersonalDataCipher(suite=suite, data_keys=keys, current=current, index_key=index_key)


def key_file_path(settings: Settings) -> Path:
    """Where the keys are: PII_KEYS_FILE, or the instance folder's file outside production."""
    if settings.PII_KEYS_FILE:
        return Path(settings.PII_KEYS_FILE)
    if settings.is_production:
        raise PersonalDataKeysError("IDP_PII_KEYS_FILE must be set in production: it names the file of the keys that"
                                    " encrypt ID numbers, names and phones (`idp pii new-key`, docs/operations.md)")
    return settings.instance_path / INSTANCE_KEYS_FILE


def _written_aside(path: Path, content: dict[str, Any]) -> Path:
    """``content`` in a file beside ``path``, readable by its owner only, to be moved into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    aside = path.with_name(f".{path.name}.{os.getpid()}")
    with os.fdopen(os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as fh:
        json.dump(content, fh, indent=2)
    return aside


def write_key_file(path: Path, content: dict[str, Any]) -> None:
    os.replace(_written_aside(path, content), path)


def _create_instance_file(path: Path, suite_name: str) -> None:
    """Development and tests: the first start makes the keys, as it makes the signing keys.
    Linked into place, so processes starting together agree on one file."""
    aside = _written_aside(path, generate_key_file(suite_name))
    try:
        os.link(aside, path)
    except FileExistsError:
        pass
    finally:
        aside.unlink()


def read_key_file(path: Path) -> dict[str, Any]:
    try:
        content = json.loads(path.read_text())
    except OSError as error:
        raise PersonalDataKeysError(f"cannot read the personal-data key file {path}: {error.strerror}") from None
    except ValueError:
        raise PersonalDataKeysError(f"{path} is not a personal-data key file (not JSON)") from None
    if not isinstance(content, dict):
        raise PersonalDataKeysError(f"{path} is not a personal-data key file")
    return content


def load_personal_data_cipher(settings: Settings) -> PersonalDataCipher:
    """The cipher of this deployment; raises :class:`PersonalDataKeysError` rather than start without keys."""
    path = key_file_path(settings)
    if not settings.PII_KEYS_FILE and not path.exists():
        _create_instance_file(path, settings.CRYPTO_SUITE)
    return cipher_from_content(read_key_file(path), settings.CRYPTO_SUITE, str(path))
