"""Setting a new password, and the forced change after a login with the initial password.

docs/domain.md §1.8: the initial password is the last six characters of the document number; whoever logs
in with it (password and second factor as usual) must set a new password and then log in
again.  No login session is created before the change: the browser holds one server-side
pending step (``FORCED_CHANGE``) naming the person, the pending authorization request and an
expiry, so the change page can be reached only right after both factors passed.

Every password change ends all of the person's login sessions and token families: whoever
knew the old password, or holds a session made with it, is out.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from sqlalchemy import select, update

from idp.audit.log import record_event
from idp.core.database import db
from idp.core.errors import LocalizedValueError
from idp.factors.password import hash_password
from idp.login.record import end_login_session
from idp.models import Grant, LoginSession, Person
from idp.people.identity_documents import initial_password
from idp.people.password_policy import validate_password
from idp.protocol.pending_steps import PendingSteps
from idp.protocol.tokens import revoke_grant

FORCED_CHANGE = PendingSteps("forced_password_change")
NEW_PASSWORD = "new_password"


class PasswordChangeRequired(Exception):
    """Both factors passed with the initial password: the person sets a new one first (docs/domain.md §1.8).

    Not a :class:`~idp.factors.base.FactorError`: nothing was refused, the login takes a detour.
    """


class PasswordStepExpired(Exception):
    """No live password step: the forced-change record in this browser expired, was never
    started, or was finished (in another tab too: the password changed since the step began)."""


class NewPasswordError(LocalizedValueError):
    MESSAGE_PREFIX = "new_password_"


@dataclass(frozen=True)
class ForcedChange:
    person: Person
    #: The authorization request to continue after the fresh login, if any.
    interaction: str | None


def check_initial_password_used(person: Person, password: str) -> bool:
    """True when this (already verified) password is the initial one (docs/domain.md §1.8).

    The flag covers imported accounts without a legacy hash; the comparison covers a legacy
    hash whose password was never changed in the old system either.
    """
    if person.password_is_initial:
        return True
    initial = initial_password(person.doc_type, person.doc_number)
    return hmac.compare_digest(password.upper().encode(), initial.upper().encode())


def end_every_session(person: Person, reason: str) -> None:
    """End all live login sessions of ``person`` and revoke every token family they hold."""
    live = db.session.execute(
        select(LoginSession).where(LoginSession.person_id == person.id, LoginSession.ended_at.is_(None))
    ).scalars().all()
    for login in live:
        end_login_session(login, reason)
    # Families whose session already ended (or outlived it) are revoked too: refresh tokens too.
    grant_ids = db.session.execute(
        select(Grant.id).where(Grant.person_id == person.id, Grant.revoked_at.is_(None))
    ).scalars().all()
    for grant_id in grant_ids:
        revoke_grant(grant_id, reason)


def set_new_password(person: Person, new_password: str, confirmation: str, *, how: str) -> None:
    """Check the new password (policy, confirmation), store it and end every session.

    Raises :class:`~idp.people.password_policy.PasswordPolicyError` or :class:`NewPasswordError`, and
    :class:`PasswordStepExpired` when the password changed since ``person`` was read: of two
    tabs finishing one step at once only the first may set it (the second waits for the row
    and then no longer finds the hash it started from).
    ``how`` names the route for the audit log: ``forced_change``, ``reset`` or ``account``.
    """
    validate_password(new_password, doc_number=person.doc_number)
    if not hmac.compare_digest(new_password.encode(), (confirmation or "").encode()):
        raise NewPasswordError("mismatch")
    changed = db.session.execute(
        update(Person).where(Person.id == person.id, Person.password_hash == person.password_hash)
        .values(password_hash=hash_password(new_password), password_is_initial=False).returning(Person.id)
    ).first()
    if changed is None:
        raise PasswordStepExpired()
    end_every_session(person, f"password_{how}")
    record_event("password.changed", subject=person.sub, how=how)


def _fingerprint(password_hash: str) -> str:
    """Names the password a step began with, without keeping its hash in the browser session."""
    return hashlib.sha256(password_hash.encode()).hexdigest()


def start_forced_password_change(person: Person, interaction: str | None) -> None:
    """Remember, in this browser only, that ``person`` passed both factors and must change."""
    # Another tab of this browser, holding the same record, may finish the step first.
    FORCED_CHANGE.start(NEW_PASSWORD, interaction, person_id=person.id,
                        password_fingerprint=_fingerprint(person.password_hash))
    record_event("password.change_required", subject=person.sub, reason="initial_password")


def pending_forced_change() -> ForcedChange:
    """The forced change waiting in this browser; raises :class:`PasswordStepExpired`."""
    record = FORCED_CHANGE.read(NEW_PASSWORD)
    if record is None:
        raise PasswordStepExpired()
    person = db.session.get(Person, record["person_id"])
    if person is None or person.status != "active":
        raise PasswordStepExpired()
    if record.get("password_fingerprint") != _fingerprint(person.password_hash):
        raise PasswordStepExpired()  # finished in another tab of this browser
    return ForcedChange(person, record.interaction_id)


def forced_change_interaction() -> str | None:
    """The relying party's request the forced change in this browser serves, even past the step's
    time: the person logs in again for that app (docs/architecture.md §5.2)."""
    return FORCED_CHANGE.interaction_id()


def finish_forced_password_change(forced: ForcedChange, new_password: str, confirmation: str) -> None:
    """Store the new password; the person then logs in again with it (docs/domain.md §1.8)."""
    set_new_password(forced.person, new_password, confirmation, how="forced_change")
    FORCED_CHANGE.finish()
