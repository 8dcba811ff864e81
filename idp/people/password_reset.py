"""Forgot password (docs/domain.md §1.8, §1.10): identify → SMS code or face → new password → log in again.

The flow is one server-side record in the browser session (``RESET_KEY``): who, which step,
how the person was verified, the pending authorization request and one expiry for the whole
flow (``LOGIN_STEP_TTL``).  Each step demands the step before it, so the new-password form
cannot be reached without a verification of this very flow.  The new password ends every
login session and token family of the person and lifts the lockout of every method (docs/domain.md §1.14:
"忘记密码" is the way out of a lock).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask import session

from idp.audit.log import record_event
from idp.core.database import db
from idp.core.settings import current_settings
from idp.factors import FACTORS
from idp.factors.base import FactorError
from idp.factors.lockout import lift_lockout
from idp.login.password_steps import UnknownIdentity
from idp.models import Person
from idp.people.accounts import find_person_by_identifier, raise_realname_level_by_face
from idp.people.identity_documents import mask_document_number, mask_phone
from idp.people.password_change import PasswordStepExpired, set_new_password

RESET_KEY = "password_reset"
PURPOSE = "reset"

#: Steps in order; a view names the step it serves.
VERIFY = "verify"
NEW_PASSWORD = "new_password"


class ResetExpired(FactorError):
    """No live reset record at the step asked for: expired, finished, or a step skipped."""

    code = "reset_expired"


def _mask_identifier(identifier: str) -> str:
    # As the login page logs it: a phone masked as a document would show 8 of its 11 digits.
    identifier = (identifier or "").strip()
    if identifier.isdigit() and len(identifier) == 11:
        return mask_phone(identifier)
    return mask_document_number(identifier)


@dataclass(frozen=True)
class PendingReset:
    person: Person
    step: str
    interaction: str | None
    verified_by: str | None


def start_password_reset(identifier: str, interaction: str | None) -> Person:
    """Identify the person by username, phone or document number (docs/domain.md §1.11's identifiers)."""
    session.pop(RESET_KEY, None)
    person = find_person_by_identifier(identifier)
    if person is None or person.status != "active":
        record_event("password.reset.identify", "failure", reason="not_registered",
                     identifier=_mask_identifier(identifier))
        raise UnknownIdentity()
    session[RESET_KEY] = {
        "person_id": person.id,
        "step": VERIFY,
        "interaction": interaction,
        "verified_by": None,
        "expires": int(time.time()) + current_settings().LOGIN_STEP_TTL,
    }
    record_event("password.reset.identify", subject=person.sub, identifier=_mask_identifier(identifier))
    return person


def pending_reset(step: str) -> PendingReset:
    """The reset of this browser, which must be at ``step``; raises :class:`ResetExpired`."""
    record = session.get(RESET_KEY)
    if not record or record["expires"] < time.time() or record["step"] != step:
        raise ResetExpired()
    person = db.session.get(Person, record["person_id"])
    if person is None or person.status != "active":
        raise ResetExpired()
    return PendingReset(person, record["step"], record.get("interaction"), record.get("verified_by"))


def send_reset_code(pending: PendingReset) -> dict:
    """Send an SMS code for purpose ``reset`` (a login code cannot be used here, nor this there)."""
    return FACTORS["sms"].begin(pending.person, purpose=PURPOSE)


def start_reset_face_check(pending: PendingReset, return_url: str) -> str:
    """Open a face check for purpose ``reset``; returns where the person scans."""
    return FACTORS["face"].begin(pending.person, purpose=PURPOSE, return_url=return_url)["url"]


def verify_reset(pending: PendingReset, method: str, response: str) -> None:
    """Check the SMS code or the face check; on success the new-password step opens."""
    audit = {"phone": mask_phone(pending.person.phone)} if method == "sms" else {}
    try:
        FACTORS[method].verify(pending.person, response, purpose=PURPOSE)
    except FactorError as error:
        record_event("password.reset.verify", "failure", subject=pending.person.sub, method=method,
                     reason=error.code, **audit)
        raise
    if method == "face":
        # docs/domain.md §1.5: a passed face scan on a level-3 account makes it level 4, whatever it was for.
        raise_realname_level_by_face(pending.person)
    session[RESET_KEY] = {**session[RESET_KEY], "step": NEW_PASSWORD, "verified_by": method}
    record_event("password.reset.verify", subject=pending.person.sub, method=method, **audit)


def finish_password_reset(pending: PendingReset, new_password: str, confirmation: str) -> str | None:
    """Store the new password, end every session, lift the lockout; returns the interaction.

    Raises :class:`~idp.people.password_policy.PasswordPolicyError` or
    :class:`~idp.people.password_change.NewPasswordError` and then changes nothing.
    """
    try:
        set_new_password(pending.person, new_password, confirmation, how="reset")
    except PasswordStepExpired:
        raise ResetExpired() from None  # finished in another tab meanwhile
    lift_lockout(pending.person)
    session.pop(RESET_KEY, None)
    record_event("password.reset", subject=pending.person.sub, verified_by=pending.verified_by)
    return pending.interaction
