"""Tax digital certificate login: the certificate names the enterprise, then a person acts.

Step 1 (:func:`start_certificate_login`) checks the agent's signed answer and remembers the
enterprise in the browser session.  Step 2 (:func:`choose_certificate_person`) takes one of the
people with a confirmed role there (docs/domain.md §12.2) and verifies that person: by password
(the login session exists at once, loa:2), or by SMS code or face check through the ordinary
second-factor pages (loa:2, loa:3).  Every login made so is business ``enterprise`` for that
enterprise; ``amr`` starts with ``hwk``.

Lockout (method ``certificate``): before the person is chosen there is nobody to count against,
and a certificate is public, so counting against the enterprise's staff would let anyone lock
them out; those refusals are audited only.  Once the person is chosen, a locked ``certificate``
method is refused and every failed verification of that person counts one failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from idp.audit.log import record_event
from idp.consent.choices import ENTERPRISE, Choice, available_choices
from idp.consent.decisions import apply_choice
from idp.core.database import db
from idp.factors import FACTORS
from idp.factors.base import FactorError
from idp.factors.certificate import CertificateFactor, CertificateProof, verify_certificate_response
from idp.factors.certificate_trust import CertificateRefused
from idp.factors.lockout import check_not_locked, record_failure, reset_failures
from idp.login.password_steps import (
    COUNTED_FAILURES,
    LoginExpired,
    pending_login,
    save_pending_login,
    send_second_factor_code,
)
from idp.login.record import create_login_session
from idp.models import EntityRole, LoginSession, Person, TaxpayerEntity
from idp.people.identity_documents import mask_phone
from idp.people.password_change import PasswordChangeRequired, check_initial_password_used, start_forced_password_change
from idp.protocol.pending_steps import PendingSteps
from idp.taxpayers.entities import find_entity

#: A verified certificate waiting for the person who uses it.
STATE = PendingSteps("certificate_login")
CHOOSE_PERSON = "choose_person"
METHOD = CertificateFactor.METHOD
#: How the chosen person may prove who they are (docs/domain.md §12.2).
PERSON_METHODS = ("password", "sms", "face")


class UnknownEnterprise(CertificateRefused):
    code = "certificate_unknown_enterprise"


class NoConfirmedRole(FactorError):
    """The person is not (or no longer) bound to the certificate's enterprise."""

    code = "certificate_no_role"


@dataclass(frozen=True)
class CertificateLogin:
    entity: TaxpayerEntity
    serial: str
    interaction: str | None


@dataclass(frozen=True)
class Candidate:
    """One person (and role) who may act with the certificate; shown masked."""

    key: str
    name: str
    role: str
    phone: str


def _mask_name(name: str) -> str:
    return name[:1] + "*" * max(len(name) - 1, 1)


def start_certificate_login(response: dict[str, Any], interaction: str | None) -> CertificateLogin:
    """Verify the agent's answer (docs/certificate-login.md) and remember the enterprise."""
    STATE.finish()
    try:
        proof: CertificateProof = verify_certificate_response(response)
    except CertificateRefused as error:
        record_event("login.certificate", "failure", reason=error.code,
                     **{k: v for k, v in error.params.items() if k in ("serial", "detail")})
        raise
    entity = find_entity(proof.uscc)
    if entity is None or entity.status != "active":
        record_event("login.certificate", "failure", reason=UnknownEnterprise.code, serial=proof.serial,
                     taxpayer_number=proof.uscc)
        raise UnknownEnterprise()
    record_event("login.certificate", serial=proof.serial, taxpayer_number=proof.uscc)
    STATE.start(CHOOSE_PERSON, interaction, entity_id=entity.id, serial=proof.serial)
    return CertificateLogin(entity, proof.serial, interaction)


def timed_out_certificate_interaction() -> str | None:
    """The app's request a certificate login gone before its person was chosen served: the login
    starts again for it, not for the account centre (docs/architecture.md §5.2)."""
    return STATE.interaction_id()


def certificate_login() -> CertificateLogin:
    """The verified certificate waiting for its person; raises :class:`LoginExpired` otherwise."""
    state = STATE.read(CHOOSE_PERSON)
    if state is None:
        raise LoginExpired()
    entity = db.session.get(TaxpayerEntity, state["entity_id"])
    if entity is None or entity.status != "active":
        raise LoginExpired()
    return CertificateLogin(entity, state["serial"], state.interaction_id)


def _choices_at(person: Person, entity: TaxpayerEntity) -> list[Choice]:
    return [c for c in available_choices(person, ENTERPRISE) if c.entity_id == entity.id]


def list_candidates(login: CertificateLogin) -> list[Candidate]:
    """The people with a confirmed role at the enterprise, with each of their roles there."""
    people = db.session.execute(
        db.select(Person).join(EntityRole, EntityRole.person_id == Person.id)
        .where(EntityRole.entity_id == login.entity.id, EntityRole.status == "confirmed", Person.status == "active")
        .distinct().order_by(Person.id)
    ).scalars()
    return [Candidate(f"{person.id}:{choice.entity['role']}", _mask_name(person.name), choice.entity["role"],
                      mask_phone(person.phone))
            for person in people for choice in _choices_at(person, login.entity) if choice.entity is not None]


def _chosen(login: CertificateLogin, key: str) -> tuple[Person, Choice]:
    person_id, _, role = key.partition(":")
    # An id the database can hold, in ASCII digits (isdigit() also takes "²", which int() refuses).
    valid_id = person_id.isascii() and person_id.isdigit() and len(person_id) < 10
    person = db.session.get(Person, int(person_id)) if valid_id else None
    choice = next((c for c in _choices_at(person, login.entity) if c.entity is not None and c.entity["role"] == role),
                  None) if person else None
    if person is None or person.status != "active" or choice is None:
        record_event("login.certificate.person", "failure", reason=NoConfirmedRole.code, serial=login.serial,
                     taxpayer_number=login.entity.taxpayer_number)
        raise NoConfirmedRole()
    return person, choice


def choose_certificate_person(key: str, method: str, password: str = "") -> LoginSession | None:
    """Verify the chosen person.  By password the login session exists on return; by SMS (code
    sent) or face the ordinary second-factor page finishes it, and ``None`` is returned."""
    login = certificate_login()
    person, choice = _chosen(login, key)
    audit = {"serial": login.serial, "taxpayer_number": login.entity.taxpayer_number, "method": method}
    try:
        check_not_locked(person, METHOD)
        if method not in PERSON_METHODS:
            raise NoConfirmedRole()
        if method == "password":
            return _finish_with_password(login, person, choice, password, audit)
        save_pending_login(person, [CertificateFactor.AMR], login.interaction, ENTERPRISE, choice_key=choice.key,
                           via=METHOD)
        if method == "sms":
            send_second_factor_code(pending_login())
    except FactorError as error:
        record_event("login.certificate.person", "failure", subject=person.sub, reason=error.code, **audit)
        raise
    STATE.finish()
    record_event("login.certificate.person", subject=person.sub, **audit)
    return None


def _finish_with_password(login: CertificateLogin, person: Person, choice: Choice, password: str,
                          audit: dict) -> LoginSession:
    try:
        result = FACTORS["password"].verify(person, password)
    except COUNTED_FAILURES:
        record_failure(person, METHOD)
        raise
    reset_failures(person, METHOD)
    STATE.finish()
    record_event("login.certificate.person", subject=person.sub, **audit)
    if check_initial_password_used(person, password):
        # docs/domain.md §1.8: no login session with the initial password, whichever way the person came in.
        start_forced_password_change(person, login.interaction)
        raise PasswordChangeRequired()
    session_record = create_login_session(person, [CertificateFactor.AMR, result.amr], ENTERPRISE)
    apply_choice(session_record, person, choice)
    return session_record
