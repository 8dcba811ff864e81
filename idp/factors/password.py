"""The password factor: argon2id at OWASP parameters, rehashed on login when they change."""

from __future__ import annotations

import secrets
from functools import cache
from typing import Any, ClassVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

from idp.audit import record_event
from idp.factors.base import FactorResult, WrongCredential
from idp.factors.legacy_hashes import check_legacy_hash_format, verify_legacy_hash
from idp.factors.lockout import check_not_locked, record_failure, reset_failures
from idp.models import LegacyEnterpriseAccount, Person

#: A password belongs to a person, or (dual-track) to an enterprise's old account.
PasswordHolder = Person | LegacyEnterpriseAccount

#: OWASP's argon2id minimum (m=19 MiB, t=2, p=1); "test" exists only for fast test suites.
HASH_PROFILES = {
    "owasp": PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1),
    "test": PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
}


def password_hasher() -> PasswordHasher:
    """The hasher of ``PASSWORD_HASH_PROFILE``."""
    return HASH_PROFILES[current_app.config["IDP"].PASSWORD_HASH_PROFILE]


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
    profile = current_app.config["IDP"].PASSWORD_HASH_PROFILE
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
        check_not_locked(person, self.METHOD)
        if not check_password(person, response):
            failures = record_failure(person, self.METHOD)
            raise WrongCredential(method=self.METHOD, failures=failures)
        reset_failures(person, self.METHOD)
        return FactorResult(self.METHOD, self.AMR)
