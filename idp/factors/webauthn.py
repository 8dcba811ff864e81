"""The security-key factor (W3C WebAuthn Level 2 through py_webauthn): ``amr`` ``hwk`` (RFC 8176).

The relying-party id and origin come from ``IDP_ISSUER``: a key registered at one issuer never
signs for another.  Challenges live in the server-side browser session, bound to one purpose and
one person, single use, and expire after :data:`CHALLENGE_TTL` seconds.  User verification (PIN
or biometric on the key) is required, so the key is a second factor on its own and the login
reaches loa:2 beside the password.
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlsplit

from sqlalchemy import bindparam, select
from webauthn import generate_authentication_options, options_to_json, verify_authentication_response
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, parse_authentication_credential_json
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import PublicKeyCredentialDescriptor, UserVerificationRequirement

from idp.audit.log import record_event
from idp.core.clock import utcnow
from idp.core.database import db
from idp.core.settings import current_settings
from idp.factors.base import FactorError, FactorResult, WrongCredential
from idp.factors.lockout import check_not_locked, counted_attempt
from idp.models import Person, SecurityKey
from idp.protocol.pending_steps import PendingSteps

#: The one outstanding WebAuthn challenge of this browser; its step is the purpose.
CHALLENGE = PendingSteps("webauthn_challenge", ttl=lambda: CHALLENGE_TTL)
#: A challenge is good for five minutes: time to find the key and touch it, not to replay it.
CHALLENGE_TTL = 300
#: What the browser is told to wait for (milliseconds), inside the challenge's lifetime.
BROWSER_TIMEOUT_MS = 120_000


class ChallengeExpired(FactorError):
    code = "security_key_expired"


class CounterRegression(FactorError):
    """The key's signature counter went backwards: the credential may have been cloned."""

    code = "security_key_counter_regression"


def relying_party() -> tuple[str, str]:
    """``(rp_id, origin)`` of this provider, both derived from ``IDP_ISSUER``."""
    issuer = urlsplit(current_settings().ISSUER)
    return issuer.hostname or "", f"{issuer.scheme}://{issuer.netloc}"


def save_challenge(challenge: bytes, purpose: str, person: Person) -> None:
    """Remember the challenge just handed to the browser (replacing any earlier one)."""
    CHALLENGE.start(purpose, challenge=bytes_to_base64url(challenge), person_id=person.id)


def take_challenge(purpose: str, person: Person) -> bytes:
    """The outstanding challenge for ``purpose``, removed so it answers once; raises
    :class:`ChallengeExpired` when there is none for this person and purpose, or it is too old."""
    saved = CHALLENGE.finish()
    if saved is None or saved.step != purpose or saved["person_id"] != person.id:
        raise ChallengeExpired()
    return base64url_to_bytes(saved["challenge"])


def query_security_keys(person: Person) -> list[SecurityKey]:
    return list(db.session.execute(
        select(SecurityKey).where(SecurityKey.person_id == person.id).order_by(SecurityKey.id)
    ).scalars())


def descriptors(keys: list[SecurityKey]) -> list[PublicKeyCredentialDescriptor]:
    return [PublicKeyCredentialDescriptor(id=base64url_to_bytes(key.credential_id)) for key in keys]


#: Built once: every login asks, and building it per call cost SQLAlchemy more CPU than
#: running it (a prebuilt statement's cache key is memoized).
_ENROLLED = select(SecurityKey.id).where(SecurityKey.person_id == bindparam("person_id")).limit(1)


class SecurityKeyFactor:
    METHOD: ClassVar[str] = "webauthn"
    AMR: ClassVar[str] = "hwk"

    def check_enrolled(self, person: Person) -> bool:
        return db.session.execute(_ENROLLED, {"person_id": person.id}).first() is not None

    def begin(self, person: Person, **context: Any) -> dict[str, Any]:
        """Authentication options for the person's registered keys, as browser JSON."""
        check_not_locked(person, self.METHOD)
        rp_id, _ = relying_party()
        options = generate_authentication_options(
            rp_id=rp_id, timeout=BROWSER_TIMEOUT_MS, allow_credentials=descriptors(query_security_keys(person)),
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        save_challenge(options.challenge, context.get("purpose", "login"), person)
        return {"options": options_to_json(options)}

    def verify(self, person: Person, response: str, **context: Any) -> FactorResult:
        """WebAuthn section 7.2: check the assertion (``PublicKeyCredential.toJSON()``) against the
        challenge, origin, rp id, user verification, signature and signature counter."""
        challenge = take_challenge(context.get("purpose", "login"), person)
        with counted_attempt(person, self.METHOD, counted=(FactorError,)):
            self._verify_assertion(person, response, challenge)
        return FactorResult(self.METHOD, self.AMR)

    def _verify_assertion(self, person: Person, response: str, challenge: bytes) -> SecurityKey:
        try:
            credential = parse_authentication_credential_json(response)
        except (WebAuthnException, ValueError, TypeError):
            raise WrongCredential(method=self.METHOD) from None
        key = db.session.execute(
            select(SecurityKey).where(SecurityKey.person_id == person.id,
                                      SecurityKey.credential_id == bytes_to_base64url(credential.raw_id))
        ).scalar_one_or_none()
        if key is None:
            raise WrongCredential(method=self.METHOD)
        rp_id, origin = relying_party()
        try:
            # The counter is checked below, after the signature, so a regression is only ever
            # reported for a genuine signature of this key (a clone), never for garbage.
            verified = verify_authentication_response(
                credential=credential, expected_challenge=challenge, expected_rp_id=rp_id,
                expected_origin=origin, credential_public_key=key.public_key, credential_current_sign_count=0,
                require_user_verification=True,
            )
        except WebAuthnException:
            raise WrongCredential(method=self.METHOD) from None
        # WebAuthn section 6.1.1: a counter that does not grow (when either side keeps one)
        # means two copies of the key exist.
        if (verified.new_sign_count or key.sign_count) and verified.new_sign_count <= key.sign_count:
            record_event("security_key.counter_regression", "failure", subject=person.sub, key=key.id,
                         stored_count=key.sign_count, presented_count=verified.new_sign_count)
            raise CounterRegression(method=self.METHOD)
        key.sign_count = verified.new_sign_count
        key.last_used_at = utcnow()
        return key
