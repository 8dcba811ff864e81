"""Forgot password (docs/domain.md §1.8, §1.10): identify → SMS code or face → new password → log in again.

The flow is one pending step in the browser session (``RESET``): who, which step,
how the person was verified, the pending authorization request and one expiry for the whole
flow (``LOGIN_STEP_TTL``).  Each step demands the step before it, so the new-password form
cannot be reached without a verification of this very flow.  The new password ends every
login session and token family of the person and lifts the lockout of every method (docs/domain.md §1.14:
"忘记密码" is the way out of a lock).
"""

from __future__ import annotations

from dataclasses import dataclass

from idp.audit.log import record_event
from idp.core.database import db
from idp.factors import FACTORS
from idp.factors.base import FactorError
from idp.factors.lockout import lift_lockout
from idp.login.password_steps import UnknownIdentity
from idp.models import Person
from idp.people.accounts import find_person_by_identifier
from idp.people.identity_documents import mask_identifier, mask_phone
from idp.people.password_change import PasswordStepExpired, set_new_password
from idp.protocol.pending_steps import PendingSteps

RESET = PendingSteps("password_reset")
PURPOSE = "reset"

#: Steps in order; a view names the step it serves.
VERIFY = "verify"
NEW_PASSWORD = "new_password"


class ResetExpired(FactorError):
    """No live reset record at the step asked for: expired, finished, or a step skipped."""

    code = "reset_expired"


@dataclass(frozen=True)
class PendingReset:
    person: Person
    step: str
    interaction: str | None
    verified_by: str | None


def start_password_reset(identifier: str, interaction: str | None) -> Person:
    """Identify the person by username, phone or document number (docs/domain.md §1.11's identifiers)."""
    RESET.finish()
    person = find_person_by_identifier(identifier)
    if person is None or person.status != "active":
        record_event("password.reset.identify", "failure", reason="not_registered",
                     identifier=mask_identifier(identifier))
        raise UnknownIdentity()
    RESET.start(VERIFY, interaction, person_id=person.id, verified_by=None)
    record_event("password.reset.identify", subject=person.sub, identifier=mask_identifier(identifier))
    return person


def pending_reset(step: str) -> PendingReset:
    """The reset of this browser, which must be at ``step``; raises :class:`ResetExpired`."""
    record = RESET.read(step)
    if record is None:
        raise ResetExpired()
    person = db.session.get(Person, record["person_id"])
    if person is None or person.status != "active":
        raise ResetExpired()
    return PendingReset(person, record.step, record.interaction_id, record.get("verified_by"))


def reset_interaction() -> str | None:
    """The relying party's request of this browser's reset, even once the reset timed out: the
    person starts again for the same app."""
    return RESET.interaction_id()


def send_reset_code(pending: PendingReset) -> dict:
    """Send an SMS code for purpose ``reset`` (a login code cannot be used here, nor this there)."""
    return FACTORS["sms"].begin(pending.person, purpose=PURPOSE)


def verify_reset(pending: PendingReset, method: str, response: str) -> None:
    """Check the SMS code or the face check; on success the new-password step opens."""
    audit = {"phone": mask_phone(pending.person.phone)} if method == "sms" else {}
    try:
        FACTORS[method].verify(pending.person, response, purpose=PURPOSE)
    except FactorError as error:
        if not error.is_attempt:
            raise
        record_event("password.reset.verify", "failure", subject=pending.person.sub, method=method,
                     reason=error.code, **audit)
        raise
    RESET.advance(NEW_PASSWORD, verified_by=method)
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
    RESET.finish()
    record_event("password.reset", subject=pending.person.sub, verified_by=pending.verified_by)
    return pending.interaction
