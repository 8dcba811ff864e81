"""Closing an account (PIPL article 47): the person's own request, confirmed by a fresh second factor,
or an operator's (``idp users close``: a request made by phone or in writing), through the same
:func:`close_account`.

In one transaction every login session ends (relying parties are told by back-channel logout),
every token family is revoked, and the person's data is erased.  What stays is described in
docs/privacy.md: the audit log (for ``AUDIT_RETENTION_DAYS``, under the opaque subject id) and
an anonymous tombstone row (the subject id, the creation date and ``status = closed``) so that
the subject id and the row id are never given to anyone else.  The document number, phone and
username are free at once for a new registration, which gets a new subject id.
"""

from __future__ import annotations

from sqlalchemy import delete, or_, select, update

from idp.audit.log import record_event
from idp.core.database import db, rows_changed
from idp.core.errors import LocalizedValueError
from idp.factors import FACTORS
from idp.factors.base import FactorError
from idp.models import (
    AppCode,
    AuthorizationCode,
    ConsentRecord,
    EntityRole,
    FaceCheck,
    FaceConsent,
    Grant,
    LoginSession,
    MethodLockout,
    Person,
    QrLoginRequest,
    RealnameRecord,
    RefreshToken,
    Registration,
    SecurityKey,
    SmsCode,
)
from idp.people.identity_documents import mask_document_number, mask_phone
from idp.people.password_change import end_every_session

#: SMS-code and face-check purpose: a code or check made for anything else cannot close an account.
PURPOSE = "close_account"
#: ``Person.status`` of a closed account; every login path admits only ``active``.
CLOSED = "closed"


class ClosureRefused(LocalizedValueError):
    MESSAGE_PREFIX = "closure_"


def send_closure_code(person: Person) -> dict:
    """Send the SMS code that confirms the closure to the account's phone; the caller commits."""
    return FACTORS["sms"].begin(person, purpose=PURPOSE)


def start_closure_face_check(person: Person, return_url: str) -> str:
    """Open a face check that confirms the closure; returns where the person scans."""
    return FACTORS["face"].begin(person, purpose=PURPOSE, return_url=return_url)["url"]


def confirm_and_close(person: Person, method: str, response: str) -> None:
    """Check the second factor made for this purpose (``sms`` code or ``face`` check id), then close.

    Factor failures raise :class:`~idp.factors.base.FactorError` (they count towards the lockout
    like a login's); the caller commits either way.
    """
    try:
        FACTORS[method].verify(person, response, purpose=PURPOSE)
    except FactorError as error:
        if not error.is_attempt:
            raise
        record_event("account.close", "failure", subject=person.sub, method=method, reason=error.code)
        raise
    close_account(person, method)


def _erase(person: Person) -> dict[str, int]:
    """Delete every row that holds the person's data; returns how many rows of each kind went."""
    grants = select(Grant.id).where(Grant.person_id == person.id)
    document = (FaceConsent.doc_type == person.doc_type) & (FaceConsent.doc_number == person.doc_number)
    statements = {
        "consents": delete(ConsentRecord).where(ConsentRecord.person_id == person.id),
        "taxpayer_roles": delete(EntityRole).where(EntityRole.person_id == person.id),
        "security_keys": delete(SecurityKey).where(SecurityKey.person_id == person.id),
        "app_codes": delete(AppCode).where(AppCode.person_id == person.id),
        "lockouts": delete(MethodLockout).where(MethodLockout.person_id == person.id),
        "face_consents": delete(FaceConsent).where(document),
        "face_checks": delete(FaceCheck).where(or_(
            FaceCheck.person_id == person.id,
            (FaceCheck.doc_type == person.doc_type) & (FaceCheck.doc_number == person.doc_number))),
        "sms_codes": delete(SmsCode).where(SmsCode.phone == person.phone),
        "qr_requests": delete(QrLoginRequest).where(QrLoginRequest.person_id == person.id),
        "registrations": delete(Registration).where(
            Registration.doc_type == person.doc_type, Registration.doc_number == person.doc_number),
        "realname_records": delete(RealnameRecord).where(
            RealnameRecord.doc_type == person.doc_type, RealnameRecord.doc_number == person.doc_number),
        # Deleted explicitly, not left to ON DELETE CASCADE (SQLite enforces it only when asked).
        "refresh_tokens": delete(RefreshToken).where(RefreshToken.grant_id.in_(grants)),
        "authorization_codes": delete(AuthorizationCode).where(AuthorizationCode.grant_id.in_(grants)),
        # A missing grant reads as revoked: every access token of the person introspects inactive.
        "grants": delete(Grant).where(Grant.person_id == person.id),
        # Ended before: their back-channel logout messages are queued rows of their own.
        "login_sessions": delete(LoginSession).where(LoginSession.person_id == person.id),
    }
    return {name: rows_changed(db.session.execute(statement)) for name, statement in statements.items()}


def close_account(person: Person, method: str, **detail) -> bool:
    """End everything, erase the person's data and leave the tombstone; the caller commits.

    ``method`` is how the closure was confirmed (``sms``, ``face``, ``operator``); ``detail`` goes
    into the ``account.closed`` audit event.  False when the account was closed already.
    """
    # Of two closures at once (the person and an operator) only one goes on: on PostgreSQL the
    # second waits for this row and then finds it closed.
    claimed = db.session.execute(update(Person).where(Person.id == person.id, Person.status == "active")
                                 .values(status=CLOSED).execution_options(synchronize_session=False))
    if rows_changed(claimed) != 1:
        return False
    sessions_ended = db.session.execute(
        select(LoginSession.id).where(LoginSession.person_id == person.id, LoginSession.ended_at.is_(None))
    ).scalars().all()
    end_every_session(person, "account_closed")
    # Masked as every audit row is: the row is kept for the audit retention period.
    masked = {"doc_type": person.doc_type, "doc_number": mask_document_number(person.doc_number),
              "phone": mask_phone(person.phone)}
    erased = _erase(person)
    placeholder = f"closed:{person.id}"
    person.status = CLOSED
    person.name = ""
    person.doc_type, person.doc_number, person.doc_country = CLOSED, placeholder, ""
    person.phone = placeholder
    person.username = person.username_changed_at = None
    person.password_hash = ""
    person.password_is_initial = False
    record_event("account.closed", subject=person.sub, method=method, sessions_ended=len(sessions_ended),
                 erased={name: count for name, count in erased.items() if count}, **masked, **detail)
    return True
