"""Natural-person self-registration (docs/domain.md §1.3, §1.5, §1.6, §1.7; §5), for the web pages and the app API.

document + name → phone (SMS code) → optional username → password → face consent → face scan
→ the account, at real-name level 4, created in the transaction that accepts the scan.

The whole registration is one :class:`~idp.models.Registration` record with an expiry
(``REGISTRATION_TTL``); its ``step`` names the one step it accepts next, so no step can be
skipped or taken out of order.  Until the last step there is no account, so an abandoned or
expired registration leaves none.  A service hall's real-name record (docs/domain.md §1.6, §1.7) lets hall-first
documents register and stands in for the face scan: the hall has already verified the person.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta
from typing import Any, ClassVar

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from idp.audit.log import record_event
from idp.core.clock import utcnow
from idp.core.database import db, rows_changed
from idp.core.errors import UserError
from idp.core.settings import current_settings
from idp.factors import face_factor
from idp.factors.base import FactorError, WrongCredential
from idp.factors.face import FaceCheckExpired, FaceConsentRequired, FaceIdentity, FaceNotPassed, record_face_consent
from idp.factors.password import hash_password
from idp.factors.sms_code import consume_sms_code, send_sms_code
from idp.models import Person, RealnameRecord, Registration
from idp.people.accounts import AccountError, create_person, normalise_phone
from idp.people.identity_documents import (
    DOCUMENT_TYPES,
    mask_document_number,
    mask_phone,
    normalise_document_number,
    normalise_issuing_country,
)
from idp.people.password_policy import validate_password
from idp.people.realname_records import NAME_MAX_LENGTH, check_same_name, normalise_person_name, query_realname_record
from idp.people.usernames import UsernameError, check_username_taken, validate_username

#: The steps in the only order they are accepted; "hall" is the dead end after failed scans.
STEPS = ("phone", "username", "password", "face_consent", "face")
HALL_ROUTE = "hall"
#: docs/domain.md §1.7: after this many failed scans the person is sent to a service hall, not to another scan.
FACE_ATTEMPTS = 3
#: SMS and face-check purpose: codes and checks of a login can never complete a registration.
PURPOSE = "register"
#: Level of an account whose registration passed the face scan (docs/domain.md §1.5).
FACE_VERIFIED_LEVEL = 4
#: ``secrets.token_urlsafe(32)``: 256 random bits, the registration's only handle.
_REGISTRATION_ID = re.compile(r"[A-Za-z0-9_-]{43}")


class RegistrationError(UserError):
    """A registration request refused; ``code`` picks the text ``error_registration_<code>``."""

    MESSAGE_PREFIX = "error_registration_"
    #: 410 a registration that is gone, 409 clashes and steps out of order, 403 the service-hall
    #: routes; anything wrongly filled in is 400.
    STATUSES: ClassVar[dict[str, int]] = {
        "expired": 410, "wrong_step": 409, "already_registered": 409, "phone_taken": 409, "conflict": 409,
        "hall_first": 403, "hall_record_name": 403, "face_hall_route": 403,
    }

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code, self.STATUSES.get(code, 400), **params)


def _reference(registration: Registration) -> str:
    # Audit rows correlate the steps of one registration without recording its bearer id.
    return hashlib.sha256(registration.id.encode()).hexdigest()[:12]


def _audit(event: str, registration: Registration, outcome: str = "success", **detail: Any) -> None:
    record_event(f"registration.{event}", outcome, registration=_reference(registration),
                 doc_type=registration.doc_type, doc_number=mask_document_number(registration.doc_number),
                 **detail)


def _expect(registration: Registration, step: str) -> None:
    """Refuse any request but the one the registration is waiting for."""
    if registration.step == HALL_ROUTE:
        raise RegistrationError("face_hall_route")
    if registration.step != step:
        raise RegistrationError("wrong_step", step=registration.step)


def _identity(registration: Registration) -> FaceIdentity:
    return FaceIdentity(registration.name, registration.doc_type, registration.doc_number)


def _document_has_account(doc_type: str, doc_number: str) -> bool:
    return db.session.execute(
        select(Person.id).where(Person.doc_type == doc_type, Person.doc_number == doc_number)
    ).first() is not None


def _phone_has_account(phone: str) -> bool:
    return db.session.execute(select(Person.id).where(Person.phone == phone)).first() is not None


def _hall_record(registration: Registration) -> RealnameRecord | None:
    record = query_realname_record(registration.doc_type, registration.doc_number)
    if record is None or record.doc_country != registration.doc_country:
        return None
    return record if check_same_name(record.name, registration.name) else None


def start_registration(*, doc_type: str, doc_number: str, name: str, country: str | None = None) -> Registration:
    """Check the identity step (docs/domain.md §1.3, §1.6) and open a registration waiting for the phone step.

    Raises ``DocumentNumberError`` for a number the document's validator refuses, and
    :class:`RegistrationError` for a missing name (``name``), a document that already has an
    account (``already_registered``), or a hall-first document without a matching hall record
    (``hall_first``, ``hall_record_name``).
    """
    number = normalise_document_number(doc_type, doc_number, country=country)
    issuing_country = normalise_issuing_country(country) if doc_type == "FOREIGN_PASSPORT" else None
    name = normalise_person_name(name)
    if not name or len(name) > NAME_MAX_LENGTH:
        raise RegistrationError("name")
    masked = mask_document_number(number)
    if _document_has_account(doc_type, number):
        record_event("registration.refused", "failure", reason="already_registered", doc_type=doc_type,
                     doc_number=masked)
        raise RegistrationError("already_registered")
    record = query_realname_record(doc_type, number)
    if record is not None and record.doc_country != issuing_country:
        record = None
    hall = record is not None and check_same_name(record.name, name)
    if not DOCUMENT_TYPES[doc_type].self_registration and not hall:
        reason = "hall_first" if record is None else "hall_record_name"
        record_event("registration.refused", "failure", reason=reason, doc_type=doc_type, doc_number=masked)
        raise RegistrationError(reason)
    registration = Registration(
        id=secrets.token_urlsafe(32), step=STEPS[0], doc_type=doc_type, doc_number=number,
        doc_country=issuing_country, name=name, via_service_hall=hall,
        expires_at=utcnow() + timedelta(seconds=current_settings().REGISTRATION_TTL),
    )
    db.session.add(registration)
    _audit("started", registration, via_service_hall=hall)
    return registration


def load_registration(registration_id: object) -> Registration:
    """The live registration with this id, locked for this request; ``expired`` otherwise."""
    if not isinstance(registration_id, str) or not _REGISTRATION_ID.fullmatch(registration_id):
        raise RegistrationError("expired")
    registration = db.session.execute(
        select(Registration).where(Registration.id == registration_id).with_for_update()
    ).scalar_one_or_none()
    if registration is None or registration.expires_at <= utcnow():
        raise RegistrationError("expired")
    return registration


def send_registration_code(registration: Registration, phone: str) -> int:
    """Send the SMS code that verifies ``phone``; returns its lifetime in seconds.

    The phone may be changed (and the code resent) until it is verified.  Raises
    :class:`RegistrationError` (``phone_format``, ``phone_taken``, ``hall_record_phone``) or
    the SMS factor's own errors (``ResendTooSoon``, ``DailyCapReached``).
    """
    _expect(registration, "phone")
    try:
        phone = normalise_phone(phone)
    except AccountError:
        raise RegistrationError("phone_format") from None
    if _phone_has_account(phone):
        _audit("phone", registration, "failure", reason="phone_taken", phone=mask_phone(phone))
        raise RegistrationError("phone_taken")
    if registration.via_service_hall:
        record = _hall_record(registration)
        if record is not None and record.phone and record.phone != phone:
            _audit("phone", registration, "failure", reason="hall_record_phone", phone=mask_phone(phone))
            raise RegistrationError("hall_record_phone")
    lifetime = send_sms_code(phone, PURPOSE)
    registration.phone, registration.phone_verified = phone, False
    _audit("phone_code_sent", registration, phone=mask_phone(phone))
    return lifetime


def resend_registration_code(registration: Registration) -> int:
    """Send a new code to the number the last one went to, so the page need not ask for it again
    (issue 18); refused with ``code_not_sent`` before any went out, else as :func:`send_registration_code`."""
    _expect(registration, "phone")
    if not registration.phone:
        raise RegistrationError("code_not_sent")
    return send_registration_code(registration, registration.phone)


def verify_registration_phone(registration: Registration, code: str) -> None:
    """Spend the SMS code sent to the registration's phone; the phone step is then done."""
    _expect(registration, "phone")
    if not registration.phone:
        raise RegistrationError("code_not_sent")
    masked = mask_phone(registration.phone)
    try:
        if not consume_sms_code(registration.phone, PURPOSE, str(code or "")):
            raise WrongCredential(method="sms")
    except FactorError as error:
        _audit("phone_verified", registration, "failure", reason=error.code, phone=masked)
        raise
    registration.phone_verified, registration.step = True, "username"
    _audit("phone_verified", registration, phone=masked)


def choose_username(registration: Registration, username: str | None) -> None:
    """Set the optional username (docs/domain.md §1.13), or skip it with an empty one."""
    _expect(registration, "username")
    if username and username.strip():
        username = validate_username(username)
        if check_username_taken(username):
            raise UsernameError("taken")
        registration.username = username
    else:
        registration.username = None
    registration.step = "password"
    _audit("username", registration, chosen=registration.username is not None)


def choose_password(registration: Registration, password: str) -> Person | None:
    """Set the password (policy of :mod:`idp.people.password_policy`); only its argon2id hash is kept.

    A registration on a service-hall record has nothing left to do and returns the new account;
    any other goes on to the face scan and returns None.
    """
    _expect(registration, "password")
    validate_password(password, doc_number=registration.doc_number)
    registration.password_hash = hash_password(password)
    _audit("password", registration)
    if registration.via_service_hall:
        return _create_account(registration)
    registration.step = "face_consent"
    return None


def consent_to_face(registration: Registration) -> None:
    """Record the separate consent to face processing (PIPL art. 29) that precedes the scan."""
    _expect(registration, "face_consent")
    record_face_consent(_identity(registration))
    registration.step = "face"
    _audit("face_consent", registration)


def start_registration_face(registration: Registration, return_url: str) -> tuple[str, str]:
    """Open a face check for the registering person; returns the check id and where to scan.

    Raises ``FaceProviderError`` when the provider cannot be reached.
    """
    _expect(registration, "face")
    try:
        started = face_factor().begin_for(_identity(registration), PURPOSE, return_url)
    except FaceConsentRequired:
        # Consent withdrawn since it was given: it is asked again before any scan.
        registration.step = "face_consent"
        raise RegistrationError("wrong_step", step="face_consent") from None
    registration.face_check_id = started["check_id"]
    _audit("face_started", registration, attempt=registration.face_failures + 1)
    return started["check_id"], started["url"]


def complete_registration_face(registration: Registration, check_id: str) -> Person:
    """Decide the registration's face check from the provider's result; a pass creates the account.

    Raises ``FacePending`` while the provider has no result, ``FaceCheckExpired`` for a check
    that is not this registration's current one, and :class:`RegistrationError`
    ``face_failed`` (with ``attempts_left``) or, after :data:`FACE_ATTEMPTS` failures,
    ``face_hall_route`` (docs/domain.md §1.7).
    """
    _expect(registration, "face")
    current = registration.face_check_id or ""
    if not current or not isinstance(check_id, str) or not hmac.compare_digest(check_id.encode(), current.encode()):
        raise FaceCheckExpired()
    try:
        face_factor().verify_for(_identity(registration), check_id, PURPOSE)
    except FaceNotPassed as error:
        # Counted in one statement: two tabs returning from scans at once both count.
        failures = db.session.execute(
            update(Registration).where(Registration.id == registration.id)
            .values(face_failures=Registration.face_failures + 1).returning(Registration.face_failures)
            .execution_options(synchronize_session=False)
        ).scalar_one()
        registration.face_failures, registration.face_check_id = failures, None
        if failures >= FACE_ATTEMPTS:
            registration.step = HALL_ROUTE
        _audit("face", registration, "failure", reason=error.params.get("reason"), failures=failures,
               next=registration.step)
        if failures >= FACE_ATTEMPTS:
            raise RegistrationError("face_hall_route") from None
        raise RegistrationError("face_failed", attempts_left=FACE_ATTEMPTS - failures) from None
    _audit("face", registration)
    return _create_account(registration)


def _create_account(registration: Registration) -> Person:
    """The last step: the account, the hall record consumed and the registration gone, together."""
    if not registration.phone_verified or not registration.password_hash:
        raise RegistrationError("wrong_step", step=registration.step)
    record = None
    if registration.via_service_hall:
        record = _hall_record(registration)
        if record is None:
            raise RegistrationError("hall_record_expired")
    if (
        _document_has_account(registration.doc_type, registration.doc_number)
        or _phone_has_account(registration.phone or "")
        or (registration.username and check_username_taken(registration.username))
    ):
        raise _conflict(registration)
    level = record.realname_level if record is not None else FACE_VERIFIED_LEVEL
    try:
        # A savepoint, so a refused insert is taken back alone and the refusal stands as the one
        # above does (on PostgreSQL a failed statement would abort the whole transaction).  It is
        # nested in the transaction the step's own writes opened: the spent face check, or the
        # password hash flushed before it.
        with db.session.begin_nested():
            person = create_person(
                doc_type=registration.doc_type, doc_number=registration.doc_number, name=registration.name,
                phone=registration.phone or "", username=registration.username, realname_level=level,
                country=registration.doc_country, password_hash=registration.password_hash,
            )
    except (AccountError, IntegrityError):
        # A parallel registration took the document, phone or username after the checks above.
        raise _conflict(registration) from None
    if record is not None:
        db.session.delete(record)
    _audit("completed", registration, subject=person.sub, level=level, via_service_hall=record is not None,
           phone=mask_phone(person.phone))
    db.session.delete(registration)
    return person


def _conflict(registration: Registration) -> RegistrationError:
    """The refusal of a registration whose document, phone or username another account holds, audited."""
    _audit("completed", registration, "failure", reason="conflict")
    return RegistrationError("conflict")


def delete_expired_registrations() -> int:
    """Remove registrations past their expiry (``idp registrations purge``); returns how many."""
    deleted = rows_changed(db.session.execute(delete(Registration).where(Registration.expires_at <= utcnow())))
    record_event("registration.purged", count=deleted)
    return deleted
