"""The password factor: argon2id at OWASP parameters, rehashed on login when they change."""

from __future__ import annotations

import secrets
from functools import cache
from typing import Any, ClassVar, Literal

import nacl.pwhash.argon2id
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from nacl.exceptions import InvalidkeyError

from idp.audit.log import record_event
from idp.core.settings import current_settings
from idp.factors.base import FactorResult, WrongCredential
from idp.factors.legacy_hashes import check_legacy_hash_format, verify_legacy_hash
from idp.factors.lockout import check_not_locked, counted_attempt
from idp.models import LegacyEnterpriseAccount, Person

#: A password belongs to a person, or (dual-track) to an enterprise's old account.
PasswordHolder = Person | LegacyEnterpriseAccount


class Argon2idHasher(PasswordHasher):
    """argon2-cffi's hasher (parameters, PHC strings, the rehash check) computing with libsodium.

    Same algorithm, parameters and hash strings; only the implementation differs. libsodium
    chooses its AVX-512/AVX2 code for the CPU at run time, where argon2-cffi's wheels carry
    portable code: one verification at m=19 MiB, t=2, p=1 costs 12.3 ms instead of 19.6 ms on
    the benchmark machine (bench/README.md), and a login's largest cost is that verification.
    libsodium writes argon2id with one lane, a 16-byte salt and a 32-byte hash, so the
    profiles below use those and ``check_needs_rehash`` compares like with like; it verifies
    any argon2id or argon2i string, whatever its parameters (older profiles, imports).
    """

    def __init__(self, *, time_cost: int, memory_cost: int):
        super().__init__(time_cost=time_cost, memory_cost=memory_cost, parallelism=1, hash_len=32, salt_len=16,
                         type=Type.ID)

    # libsodium draws the salt itself: no ``salt`` argument, unlike the base class.
    def hash(self, password: str | bytes) -> str:  # type: ignore[override]
        return nacl.pwhash.argon2id.str(_utf8(password), opslimit=self.time_cost,
                                        memlimit=self.memory_cost * 1024).decode("ascii")

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        try:
            nacl.pwhash.argon2id.verify(_utf8(hash), _utf8(password))  # True, or raises
        except InvalidkeyError as mismatch:
            # libsodium says the same for a wrong password and for a string it cannot read.
            raise VerifyMismatchError(str(mismatch)) from None
        except ValueError as unreadable:  # longer than any argon2 string libsodium reads
            raise InvalidHashError(str(unreadable)) from None
        return True


def _utf8(text: str | bytes) -> bytes:
    return text.encode() if isinstance(text, str) else text


#: OWASP's argon2id minimum (m=19 MiB, t=2, p=1); "test" exists only for fast test suites.
HASH_PROFILES = {
    "owasp": Argon2idHasher(time_cost=2, memory_cost=19 * 1024),
    "test": Argon2idHasher(time_cost=1, memory_cost=8),
}


def password_hasher() -> PasswordHasher:
    """The hasher of ``PASSWORD_HASH_PROFILE``."""
    return HASH_PROFILES[current_settings().PASSWORD_HASH_PROFILE]


def hash_password(password: str) -> str:
    return password_hasher().hash(password)


@cache
def _hash_of_nobody(profile: str) -> str:
    # A random password thrown away at once: made once per process and profile, it verifies nothing.
    return HASH_PROFILES[profile].hash(secrets.token_urlsafe(32))


def spend_password_verification(password: str) -> None:
    """Verify ``password`` against a hash of nobody's password, with the ``PASSWORD_HASH_PROFILE``
    hasher: the argon2id work of a wrong password, for refusals whose response time must not tell
    that there was no stored hash to check (an unknown account) or only a cheap legacy one."""
    profile = current_settings().PASSWORD_HASH_PROFILE
    try:
        HASH_PROFILES[profile].verify(_hash_of_nobody(profile), password)
    except VerificationError:
        pass


def check_password(person: PasswordHolder, password: str) -> bool:
    """Verify without counting failures; upgrades the stored hash when parameters changed."""
    hasher = password_hasher()
    if check_legacy_hash_format(person.password_hash):
        # A migrated account's hash from the old system: verified once, then replaced by argon2id.
        if not verify_legacy_hash(person.password_hash, password):
            # SHA-256 alone would answer far faster than an unknown account's dummy argon2id check.
            spend_password_verification(password)
            return False
        scheme = person.password_hash.split("$", 1)[0]
        person.password_hash = hasher.hash(password)
        record_event("password.hash_upgraded", subject=person.sub, previous=scheme, now="argon2id")
        return True
    try:
        hasher.verify(person.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if hasher.check_needs_rehash(person.password_hash):
        person.password_hash = hasher.hash(password)
    return True


class PasswordFactor:
    METHOD: ClassVar[str] = "password"
    AMR: ClassVar[str] = "pwd"

    def begin(self, person: PasswordHolder, **context: Any) -> dict[str, Any]:
        check_not_locked(person, self.METHOD)
        return {}

    def verify(self, person: PasswordHolder, response: str, **context: Any) -> FactorResult:
        with counted_attempt(person, self.METHOD):
            if not check_password(person, response):
                raise WrongCredential(method=self.METHOD)
        return FactorResult(self.METHOD, self.AMR)
