"""The steps of a password + SMS login, kept as one pending record in the browser session.

Step 1 checks the password and sends a code (or, for a person with an enrolled security key or
app code, offers those first and sends a code only when asked); step 2 checks the second factor
and creates the login session.  The pending record expires after ``LOGIN_STEP_TTL`` and names the
person only after the password was right, so the SMS step cannot be reached any other way.
"""

from __future__ import annotations

from dataclasses import dataclass

from idp.audit.log import record_event
from idp.consent.choices import BUSINESS_ENTRIES, NATURAL_PERSON, find_choice
from idp.consent.decisions import apply_choice
from idp.core.database import db
from idp.factors import FACTORS
from idp.factors.app_code import AppCodeFactor
from idp.factors.base import FactorError, MethodLocked, WrongCredential
from idp.factors.face import FaceIdentity, FaceNotPassed, check_face_consent_withdrawn
from idp.factors.lockout import record_failure, reset_failures
from idp.factors.webauthn import SecurityKeyFactor
from idp.login.record import create_login_session
from idp.models import LoginSession, Person
from idp.people.accounts import find_person_by_identifier
from idp.people.identity_documents import mask_identifier, mask_phone
from idp.people.password_change import PasswordChangeRequired, check_initial_password_used, start_forced_password_change
from idp.protocol.interactions import login_url
from idp.protocol.pending_steps import PendingSteps

#: The login waiting for its second factor; its one step is "second_factor".
PENDING = PendingSteps("pending_login")
SECOND_FACTOR = "second_factor"
#: Refusals that were a real try by the person (not "still pending" or "consent first"); they
#: also count against the first factor's method of a pending login (``via``).
COUNTED_FAILURES = (WrongCredential, FaceNotPassed, MethodLocked)


class UnknownIdentity(FactorError):
    code = "not_registered"


class LoginExpired(FactorError):
    code = "login_expired"


@dataclass(frozen=True)
class PendingLogin:
    person: Person
    amr: list[str]
    interaction: str | None
    #: The business entry picked on the login page (natural person unless another was chosen).
    business: str = NATURAL_PERSON
    #: docs/domain.md §1.8: the password was the initial one; a new one is set before any login session.
    must_change_password: bool = False
    #: The taxpayer fixed before the person was known (a certificate names its enterprise).
    choice_key: str | None = None
    #: The first factor's method when it was not the password; second-factor failures count against it too.
    via: str | None = None
    #: An SMS code was sent for this login, so the second-factor page asks for it.
    sms_sent: bool = False


@dataclass(frozen=True)
class SecondFactorOffer:
    """What the second-factor page offers a pending login."""

    #: Enrolled alternatives to the SMS code (security key, app code), offered first.
    alternatives: list[str]
    #: The page asks for an SMS code; otherwise it offers a button that sends one.
    asks_for_sms_code: bool
    #: A face check is offered: not once the person withdrew consent to face processing.
    face: bool


def start_password_login(identifier: str, password: str, interaction: str | None,
                         business: str | None = None) -> Person:
    """Check identity and password; on success remember the person for the SMS step."""
    PENDING.finish()
    person = find_person_by_identifier(identifier)
    if person is None or person.status != "active":
        record_event("login.password", "failure", reason="not_registered", identifier=mask_identifier(identifier))
        raise UnknownIdentity()
    try:
        result = FACTORS["password"].verify(person, password)
    except FactorError as error:
        record_event("login.password", "failure", subject=person.sub, reason=error.code,
                     identifier=mask_identifier(identifier))
        raise
    record_event("login.password", subject=person.sub, identifier=mask_identifier(identifier))
    PENDING.start(SECOND_FACTOR, interaction, person_id=person.id, amr=[result.amr],
                  business=business if business in BUSINESS_ENTRIES else NATURAL_PERSON,
                  must_change_password=check_initial_password_used(person, password))
    return person


def save_pending_login(person: Person, amr: list[str], interaction: str | None, business: str, *,
                       choice_key: str | None = None, via: str | None = None) -> None:
    """Remember a person whose first factor was not the password (a certificate login)."""
    PENDING.start(SECOND_FACTOR, interaction, person_id=person.id, amr=amr, business=business,
                  must_change_password=False, choice_key=choice_key, via=via)


def pending_login() -> PendingLogin:
    """The login waiting for its second factor; raises :class:`LoginExpired` when there is none."""
    pending = PENDING.read(SECOND_FACTOR)
    if pending is None:
        raise LoginExpired()
    person = db.session.get(Person, pending["person_id"])
    if person is None or person.status != "active":
        raise LoginExpired()
    return PendingLogin(person, list(pending["amr"]), pending.interaction_id,
                        business=pending.get("business", NATURAL_PERSON),
                        must_change_password=bool(pending.get("must_change_password")),
                        choice_key=pending.get("choice_key"), via=pending.get("via"),
                        sms_sent=bool(pending.get("sms_sent")))


def timed_out_interaction() -> str | None:
    """The app's request a login that timed out at its second factor served: the login
    starts again for it, not for the account centre (docs/architecture.md §5.2)."""
    return PENDING.interaction_id()


def login_again_url() -> str:
    """The login page again, for that request; it says the login timed out when it did (rather than
    never began)."""
    return login_url(timed_out_interaction(), timed_out=PENDING.timed_out())


def send_second_factor_code(pending: PendingLogin) -> dict:
    """Send (or resend) the SMS code of the pending login; from then on its page asks for the code."""
    sent = FACTORS["sms"].begin(pending.person, purpose="login")
    mark_code_sent()
    return sent


def mark_code_sent() -> None:
    """From now on the pending login's page asks for the SMS code (one was sent, now or moments ago)."""
    PENDING.advance(sms_sent=True)


#: Second factors a person enrols in the account centre, offered on the second-factor page when enrolled.
ENROLLED_ALTERNATIVES = ("webauthn", "otp")


def enrolled_alternatives(pending: PendingLogin) -> list[str]:
    """The enrolled second factors (security key, app code) the second-factor page offers besides SMS."""
    return [m for m in ENROLLED_ALTERNATIVES if isinstance(factor := FACTORS.get(m), SecurityKeyFactor | AppCodeFactor)
            and factor.check_enrolled(pending.person)]


def send_code_or_offer_choice(pending: PendingLogin) -> dict | None:
    """Right after the password: send the SMS code at once (docs/domain.md §1.1's default, most people), unless
    the person enrolled an alternative (security key, app code).  They choose first, and an SMS is
    sent only when asked for: each one costs the bureau money, counts against the phone's daily cap
    and resend cooldown, and would land a code nobody asked for.  Returns the send's result, or
    ``None`` when nothing was sent."""
    if enrolled_alternatives(pending):
        return None
    return send_second_factor_code(pending)


def second_factor_offer(pending: PendingLogin) -> SecondFactorOffer:
    """The second-factor page's choices.  Without an alternative the page always asks for the SMS
    code, as it was sent right after the password (its error says when that failed)."""
    alternatives = enrolled_alternatives(pending)
    return SecondFactorOffer(alternatives, asks_for_sms_code=pending.sms_sent or not alternatives,
                             face=not check_face_consent_withdrawn(FaceIdentity.of(pending.person)))


def begin_second_factor(pending: PendingLogin, method: str) -> dict:
    """Start an enrolled second factor (a security key's challenge) for the pending login."""
    return FACTORS[method].begin(pending.person, purpose="login")


def finish_second_factor(pending: PendingLogin, method: str, response: str) -> LoginSession:
    """Check the second factor (SMS code, or a face check's id); on success the login session
    exists: loa:2 with SMS, loa:3 with face (docs/domain.md §13)."""
    audit = {"phone": mask_phone(pending.person.phone)} if method == "sms" else {}
    try:
        result = FACTORS[method].verify(pending.person, response, purpose="login")
    except FactorError as error:
        if not error.is_attempt:
            raise
        record_event(f"login.{method}", "failure", subject=pending.person.sub, reason=error.code, **audit)
        if pending.via and isinstance(error, COUNTED_FAILURES):
            record_failure(pending.person, pending.via)
        raise
    record_event(f"login.{method}", subject=pending.person.sub, **audit)
    PENDING.finish()
    if pending.must_change_password:
        # docs/domain.md §1.8: no login session with the initial password; change it, then log in again.
        start_forced_password_change(pending.person, pending.interaction)
        raise PasswordChangeRequired()
    login = create_login_session(pending.person, pending.amr + [result.amr], pending.business)
    if pending.via:
        reset_failures(pending.person, pending.via)
    if pending.choice_key and (choice := find_choice(pending.person, pending.business, pending.choice_key)):
        apply_choice(login, pending.person, choice)
    return login
