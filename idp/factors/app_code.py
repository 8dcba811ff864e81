"""The app-code factor: RFC 6238 time-based codes (pyotp; SHA-1, 6 digits, 30 s), ``amr`` ``otp``.

A code of the current time step or one step either side is accepted (RFC 6238 section 5.2
clock drift) and compared in constant time by pyotp.  Each accepted step is stored and only a
later step is accepted afterwards, so a code cannot be used twice within its window (section 5.2:
"the verifier MUST NOT accept the second attempt of the OTP").  The step is taken by one guarded
UPDATE, so two parallel submissions of one code cannot both win.

Secrets at rest: AES-256-GCM under a key derived (HKDF-SHA256) from ``IDP_SECRET_KEY``, with the
person's subject as associated data so a row copied onto another account does not decrypt.  A
database dump alone therefore gives no working generator.  Rotating ``IDP_SECRET_KEY`` makes
every enrolled generator unusable (people enrol again); secrets are never logged or audited.
"""

from __future__ import annotations

import base64
import secrets
import time
from typing import Any, ClassVar

import pyotp
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import bindparam, or_, select, update

from idp.core.clock import utcnow
from idp.core.database import db, rows_changed
from idp.core.settings import current_settings
from idp.factors.base import FactorResult, WrongCredential
from idp.factors.lockout import check_not_locked, counted_attempt
from idp.models import AppCode, Person

#: RFC 4226 section 4 asks for at least 128 bits and recommends 160: 32 base32 characters.
SECRET_BASE32_LENGTH = 32
#: Steps accepted either side of the current one (RFC 6238 section 5.2 recommends one).
DRIFT_STEPS = 1
_CIPHER_VERSION = "v1"


def now_seconds() -> float:
    """The verifier's clock (tests replace it to stand on a step boundary)."""
    return time.time()


def generate_app_code_secret() -> str:
    return pyotp.random_base32(length=SECRET_BASE32_LENGTH)


def _cipher() -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"qdtax-idp app-code secret").derive(
        current_settings().SECRET_KEY.encode())
    return AESGCM(key)


def encrypt_secret(secret: str, person: Person) -> str:
    nonce = secrets.token_bytes(12)
    sealed = _cipher().encrypt(nonce, secret.encode(), person.sub.encode())
    return f"{_CIPHER_VERSION}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"


def decrypt_secret(stored: str, person: Person) -> str | None:
    """The secret, or None when it no longer decrypts (the instance secret was rotated)."""
    version, _, payload = stored.partition(".")
    if version != _CIPHER_VERSION:
        return None
    raw = base64.urlsafe_b64decode(payload)
    try:
        return _cipher().decrypt(raw[:12], raw[12:], person.sub.encode()).decode()
    except InvalidTag:
        return None


def check_app_code(secret: str, code: str, *, at: float, last_timecode: int | None) -> int | None:
    """The time step ``code`` belongs to (current one ± :data:`DRIFT_STEPS`), or None.

    Steps at or before ``last_timecode`` are never tried: that is the replay protection.
    """
    code = code.strip()
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(at)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if last_timecode is not None and step <= last_timecode:
            continue
        if totp.verify(code, for_time=step * totp.interval):  # hmac.compare_digest inside
            return step
    return None


def spend_app_code(row: AppCode, person: Person, code: str) -> bool:
    """Accept ``code`` for this generator once: True when it matched a step not used before."""
    secret = decrypt_secret(row.secret_encrypted, person)
    if secret is None:
        return False
    step = check_app_code(secret, code, at=now_seconds(), last_timecode=row.last_timecode)
    if step is None:
        return False
    taken = db.session.execute(
        update(AppCode)
        .where(AppCode.person_id == row.person_id,
               or_(AppCode.last_timecode.is_(None), AppCode.last_timecode < step))
        .values(last_timecode=step, last_used_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    return rows_changed(taken) == 1


#: Built once, confirmed and pending: every login asks, and building it per call cost SQLAlchemy
#: more CPU than running it (a prebuilt statement's cache key is memoized).
_APP_CODE = {confirmed: select(AppCode).where(
    AppCode.person_id == bindparam("person_id"),
    AppCode.confirmed_at.is_not(None) if confirmed else AppCode.confirmed_at.is_(None),
) for confirmed in (True, False)}


def query_app_code(person: Person, *, confirmed: bool = True) -> AppCode | None:
    return db.session.execute(_APP_CODE[confirmed], {"person_id": person.id}).scalar_one_or_none()


class AppCodeFactor:
    METHOD: ClassVar[str] = "otp"
    AMR: ClassVar[str] = "otp"

    def check_enrolled(self, person: Person) -> bool:
        return query_app_code(person) is not None

    def begin(self, person: Person, **context: Any) -> dict[str, Any]:
        """Nothing is sent: the code is on the person's phone already."""
        check_not_locked(person, self.METHOD)
        return {}

    def verify(self, person: Person, response: str, **context: Any) -> FactorResult:
        with counted_attempt(person, self.METHOD):
            row = query_app_code(person)
            if row is None or not spend_app_code(row, person, response):
                raise WrongCredential(method=self.METHOD)
        return FactorResult(self.METHOD, self.AMR)
