"""Password hashes written by the previous e-tax system, accepted once and then replaced.

Migrated accounts (``idp users import``, docs/accounts-import.md) may carry the old system's
hash.  Two formats are understood:

* ``sha256$<salt hex>$<digest hex>``: SHA-256 over the salt's bytes followed by the password's
  UTF-8 bytes (the old natural-person system's format);
* ``pbkdf2_sha256$<iterations>$<salt>$<base64 digest>``: PBKDF2-HMAC-SHA256 exactly as Django
  writes it (salt used as its UTF-8 text, 32-byte key, standard base64).

A hash is only ever verified; on the first successful login the password factor stores an
argon2id hash instead (docs/architecture.md §10), so legacy hashes disappear as people log in.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass

#: Below this a PBKDF2 hash is too cheap to accept at import; above it one login could stall a
#: worker (a malformed import line must not become a denial of service).
PBKDF2_MIN_ITERATIONS = 1_000
PBKDF2_MAX_ITERATIONS = 2_000_000

_SHA256 = re.compile(r"sha256\$([0-9a-fA-F]{8,128})\$([0-9a-fA-F]{64})")
_PBKDF2 = re.compile(r"pbkdf2_sha256\$([0-9]{1,8})\$([^$]{1,128})\$([A-Za-z0-9+/]{43}=)")


class LegacyHashFormatError(ValueError):
    """The text is not a legacy hash in a supported format."""


@dataclass(frozen=True)
class LegacyHash:
    algorithm: str
    salt: bytes
    digest: bytes
    iterations: int = 1


def parse_legacy_hash(text: str) -> LegacyHash:
    """Parse one of the supported formats; raises :class:`LegacyHashFormatError` otherwise."""
    text = (text or "").strip()
    if match := _SHA256.fullmatch(text):
        return LegacyHash("sha256", bytes.fromhex(match.group(1)), bytes.fromhex(match.group(2)))
    if match := _PBKDF2.fullmatch(text):
        iterations = int(match.group(1))
        if not PBKDF2_MIN_ITERATIONS <= iterations <= PBKDF2_MAX_ITERATIONS:
            raise LegacyHashFormatError("pbkdf2_sha256 iterations out of range")
        try:
            digest = base64.b64decode(match.group(3), validate=True)
        except binascii.Error:
            raise LegacyHashFormatError("pbkdf2_sha256 digest is not base64") from None
        return LegacyHash("pbkdf2_sha256", match.group(2).encode(), digest, iterations)
    raise LegacyHashFormatError("not a supported legacy password hash")


def check_legacy_hash_format(text: str) -> bool:
    """True when ``text`` looks like one of the legacy formats (not an argon2 hash)."""
    try:
        parse_legacy_hash(text)
    except LegacyHashFormatError:
        return False
    return True


def verify_legacy_hash(text: str, password: str) -> bool:
    """Constant-time check of ``password`` against a legacy hash; False for any malformed hash."""
    try:
        parsed = parse_legacy_hash(text)
    except LegacyHashFormatError:
        return False
    secret = password.encode()
    if parsed.algorithm == "sha256":
        computed = hashlib.sha256(parsed.salt + secret).digest()
    else:
        computed = hashlib.pbkdf2_hmac("sha256", secret, parsed.salt, parsed.iterations)
    return hmac.compare_digest(computed, parsed.digest)
