"""Security keys in the account centre (docs/domain.md §13): register, name and remove them.

Registration asks the key for user verification (the key's PIN or fingerprint) so that later it
counts as a factor of its own; resident (discoverable) keys are allowed, not required.  The
account pages reach these functions only on a fresh login (``ACCOUNT_REAUTH_MAX_AGE``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from webauthn import generate_registration_options, options_to_json, verify_registration_response
from webauthn.helpers import bytes_to_base64url, parse_registration_credential_json
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from idp.audit.log import record_event
from idp.core.database import db
from idp.factors.webauthn import (
    BROWSER_TIMEOUT_MS,
    descriptors,
    query_security_keys,
    relying_party,
    save_challenge,
    take_challenge,
)
from idp.models import Person, SecurityKey
from idp.people.identity_documents import LocalizedValueError, mask_phone

REGISTER_PURPOSE = "register"
#: Enough for the few keys a person owns; a cap keeps the login options small.
MAX_KEYS = 10
NAME_MAX_LENGTH = 32


class SecurityKeyRefused(LocalizedValueError):
    MESSAGES = {
        "registration_failed": {
            "zh-CN": "安全密钥注册未成功，请重试（需在密钥上验证PIN码或指纹）",
            "en": "The security key was not registered; please try again "
            "(the key must verify your PIN or fingerprint).",
        },
        "name_invalid": {
            "zh-CN": "请为安全密钥填写1至32个字的名称",
            "en": "Please give the security key a name of 1 to 32 characters.",
        },
        "too_many": {
            "zh-CN": "最多可注册10个安全密钥，请先删除不再使用的密钥",
            "en": "At most 10 security keys can be registered; please remove one you no longer use.",
        },
        "not_found": {"zh-CN": "未找到该安全密钥", "en": "This security key was not found."},
    }


@dataclass(frozen=True)
class SecurityKeySummary:
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None


def list_security_keys(person: Person) -> list[SecurityKeySummary]:
    return [SecurityKeySummary(k.id, k.name, k.created_at, k.last_used_at) for k in query_security_keys(person)]


def validate_key_name(name: str) -> str:
    name = " ".join(name.split())
    if not 1 <= len(name) <= NAME_MAX_LENGTH:
        raise SecurityKeyRefused("name_invalid")
    return name


def start_security_key_registration(person: Person) -> str:
    """WebAuthn section 5.4: creation options as browser JSON; the challenge waits in the session."""
    keys = query_security_keys(person)
    if len(keys) >= MAX_KEYS:
        raise SecurityKeyRefused("too_many")
    rp_id, _ = relying_party()
    options = generate_registration_options(
        rp_id=rp_id, rp_name="青岛市电子税务局",
        # The user handle is the opaque subject: no document or phone number reaches the key.
        user_id=person.sub.encode(), user_name=person.username or mask_phone(person.phone),
        user_display_name=person.name, timeout=BROWSER_TIMEOUT_MS,
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED, user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=descriptors(keys),
    )
    save_challenge(options.challenge, REGISTER_PURPOSE, person)
    return options_to_json(options)


def finish_security_key_registration(person: Person, credential_json: str, name: str) -> SecurityKey:
    """WebAuthn section 7.1: verify the new credential and store it; the caller commits."""
    name = validate_key_name(name)
    challenge = take_challenge(REGISTER_PURPOSE, person)
    rp_id, origin = relying_party()
    try:
        credential = parse_registration_credential_json(credential_json)
        verified = verify_registration_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp_id, expected_origin=origin,
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, TypeError):
        record_event("security_key.register", "failure", subject=person.sub, reason="registration_failed")
        raise SecurityKeyRefused("registration_failed") from None
    credential_id = bytes_to_base64url(verified.credential_id)
    if db.session.execute(select(SecurityKey.id).where(SecurityKey.credential_id == credential_id)).first():
        record_event("security_key.register", "failure", subject=person.sub, reason="already_registered")
        raise SecurityKeyRefused("registration_failed")
    key = SecurityKey(person_id=person.id, credential_id=credential_id, public_key=verified.credential_public_key,
                      sign_count=verified.sign_count, name=name)
    db.session.add(key)
    db.session.flush()
    record_event("security_key.registered", subject=person.sub, key=key.id, aaguid=verified.aaguid)
    return key


def _own_key(person: Person, key_id: int) -> SecurityKey:
    key = db.session.get(SecurityKey, key_id)
    if key is None or key.person_id != person.id:
        raise SecurityKeyRefused("not_found")
    return key


def rename_security_key(person: Person, key_id: int, name: str) -> None:
    _own_key(person, key_id).name = validate_key_name(name)


def remove_security_key(person: Person, key_id: int) -> None:
    key = _own_key(person, key_id)
    db.session.delete(key)
    record_event("security_key.removed", subject=person.sub, key=key.id)
