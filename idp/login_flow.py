"""The steps of a password + SMS login, kept as one pending record in the browser session.

Step 1 checks the password and sends a code; step 2 checks the code and creates the login
session.  The pending record expires after ``LOGIN_STEP_TTL`` and names the person only
after the password was right, so the SMS step cannot be reached any other way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask import current_app, session

from idp.audit import record_event
from idp.database import db
from idp.factors import FACTORS
from idp.factors.base import FactorError
from idp.identity_documents import mask_document_number
from idp.login_state import create_login_session
from idp.models import LoginSession, Person

PENDING_KEY = "pending_login"


class UnknownIdentity(FactorError):
    code = "not_registered"


class LoginExpired(FactorError):
    code = "login_expired"


@dataclass(frozen=True)
class PendingLogin:
    person: Person
    amr: list[str]
    interaction: str | None


def _mask_identifier(identifier: str) -> str:
    return mask_document_number(identifier.strip()) if identifier else ""


def start_password_login(identifier: str, password: str, interaction: str | None) -> Person:
    """Check identity and password; on success remember the person for the SMS step."""
    from idp.accounts import find_person_by_identifier

    session.pop(PENDING_KEY, None)
    person = find_person_by_identifier(identifier)
    if person is None or person.status != "active":
        record_event("login.password", "failure", reason="not_registered", identifier=_mask_identifier(identifier))
        raise UnknownIdentity()
    try:
        result = FACTORS["password"].verify(person, password)
    except FactorError as error:
        record_event("login.password", "failure", subject=person.sub, reason=error.code)
        raise
    record_event("login.password", subject=person.sub)
    session[PENDING_KEY] = {
        "person_id": person.id,
        "amr": [result.amr],
        "interaction": interaction,
        "expires": int(time.time()) + current_app.config["IDP"].LOGIN_STEP_TTL,
    }
    return person


def pending_login() -> PendingLogin:
    """The login waiting for its second factor; raises :class:`LoginExpired` when there is none."""
    pending = session.get(PENDING_KEY)
    if not pending or pending["expires"] < time.time():
        raise LoginExpired()
    person = db.session.get(Person, pending["person_id"])
    if person is None or person.status != "active":
        raise LoginExpired()
    return PendingLogin(person, list(pending["amr"]), pending.get("interaction"))


def send_second_factor_code(pending: PendingLogin) -> dict:
    """Send (or resend) the SMS code of the pending login."""
    return FACTORS["sms"].begin(pending.person, purpose="login")


def finish_sms_login(pending: PendingLogin, code: str) -> LoginSession:
    """Check the SMS code; on success the login session exists (acr loa:2)."""
    try:
        result = FACTORS["sms"].verify(pending.person, code, purpose="login")
    except FactorError as error:
        record_event("login.sms", "failure", subject=pending.person.sub, reason=error.code)
        raise
    record_event("login.sms", subject=pending.person.sub)
    session.pop(PENDING_KEY, None)
    return create_login_session(pending.person, pending.amr + [result.amr])
