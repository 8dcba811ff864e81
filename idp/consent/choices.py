"""Which taxpayers a person may act for, per business entry (docs/domain.md §1.1, §1.8, §1.12; §2.3-§2.5).

A choice is what flows into tokens: the ``entity`` claim (taxpayer number, name, role, competent
tax authority) and, for agents, the RFC 8693 ``act`` claim naming the agency.  Only confirmed
roles count; the same functions decide at login, at switching and at every refresh.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Row, bindparam, select

from idp.audit.log import record_event
from idp.core.clock import utcnow
from idp.core.database import db
from idp.login.legacy_sunset import check_legacy_login_open
from idp.models import (
    AgencyAgreement,
    CrossRegionRegistration,
    EntityRole,
    LegacyEnterpriseAccount,
    Person,
    TaxpayerEntity,
)

NATURAL_PERSON = "natural_person"
ENTERPRISE = "enterprise"
AGENT = "agent"
SPECIAL_SUBJECT = "special_subject"
BUSINESS_ENTRIES = (NATURAL_PERSON, ENTERPRISE, AGENT, SPECIAL_SUBJECT)
#: The ``role`` of the ``entity`` claim of an old enterprise login: the enterprise's own account, no person.
LEGACY_ROLE = "legacy_enterprise_account"


@dataclass(frozen=True)
class Choice:
    """One taxpayer the person may act for, in one business entry."""

    key: str
    business: str
    entity_id: int | None
    entity: dict | None
    act: dict | None = None


def _claim(entity: TaxpayerEntity, role: str, authority_code: str, authority_name: str, **extra) -> dict:
    return {"id": entity.taxpayer_number, "name": entity.name, "role": role,
            "tax_authority": {"code": authority_code, "name": authority_name}, **extra}


def _confirmed_roles(person: Person):
    return db.session.execute(
        select(EntityRole, TaxpayerEntity)
        .join(TaxpayerEntity, TaxpayerEntity.id == EntityRole.entity_id)
        .where(EntityRole.person_id == person.id, EntityRole.status == "confirmed",
               TaxpayerEntity.status == "active")
        .order_by(TaxpayerEntity.name, EntityRole.role)
    ).all()


def _enterprise_choices(person: Person) -> list[Choice]:
    return [
        Choice(f"e:{entity.id}:{role.role}", ENTERPRISE, entity.id,
               _claim(entity, role.role, entity.tax_authority_code, entity.tax_authority_name))
        for role, entity in _confirmed_roles(person) if role.role != "agent_staff"
    ]


def _special_subject_choices(person: Person) -> list[Choice]:
    choices = []
    for role, entity in _confirmed_roles(person):
        if role.role == "agent_staff":
            continue
        registrations = db.session.execute(
            select(CrossRegionRegistration).where(CrossRegionRegistration.entity_id == entity.id,
                                                  CrossRegionRegistration.status == "active")
            .order_by(CrossRegionRegistration.tax_authority_code)
        ).scalars()
        for registration in registrations:
            choices.append(Choice(
                f"s:{entity.id}:{role.role}:{registration.id}", SPECIAL_SUBJECT, entity.id,
                _claim(entity, role.role, registration.tax_authority_code, registration.tax_authority_name,
                       registration={"id": registration.id, "kind": registration.kind}),
            ))
    return choices


def _agent_choices(person: Person) -> list[Choice]:
    choices = []
    for role, agency in _confirmed_roles(person):
        if role.role != "agent_staff":
            continue
        clients = db.session.execute(
            select(TaxpayerEntity)
            .join(AgencyAgreement, AgencyAgreement.client_entity_id == TaxpayerEntity.id)
            .where(AgencyAgreement.agency_entity_id == agency.id, AgencyAgreement.status == "active",
                   TaxpayerEntity.status == "active")
            .order_by(TaxpayerEntity.name)
        ).scalars()
        act = {"sub": agency.taxpayer_number, "name": agency.name}
        for client in clients:
            choices.append(Choice(f"a:{agency.id}:{client.id}", AGENT, client.id,
                                  _claim(client, "agent", client.tax_authority_code, client.tax_authority_name),
                                  act))
    return choices


_CHOICES = {
    NATURAL_PERSON: lambda person: [Choice("n", NATURAL_PERSON, None, None)],
    ENTERPRISE: _enterprise_choices,
    AGENT: _agent_choices,
    SPECIAL_SUBJECT: _special_subject_choices,
}


def available_choices(person: Person, business: str) -> list[Choice]:
    """Every taxpayer ``person`` may act for through ``business`` (only confirmed roles)."""
    return _CHOICES[business](person)


def legacy_choice(account: LegacyEnterpriseAccount) -> Choice | None:
    """The one taxpayer an old enterprise login acts for (its own, at its home tax authority), or
    None once the transition is over or the account or taxpayer is no longer active."""
    entity = db.session.get(TaxpayerEntity, account.entity_id)
    if not check_legacy_login_open() or account.status != "active" or entity is None or entity.status != "active":
        return None
    return Choice(f"l:{entity.id}", ENTERPRISE, entity.id,
                  _claim(entity, LEGACY_ROLE, entity.tax_authority_code, entity.tax_authority_name))


def find_choice(person: Person, business: str, key: str) -> Choice | None:
    return next((c for c in available_choices(person, business) if c.key == key), None)


def check_still_allowed(person: Person | LegacyEnterpriseAccount | None, business: str, entity_id: int | None,
                        entity: dict | None, act: dict | None) -> bool:
    """Does the person still act for this taxpayer as recorded (role held, agreement and
    registration still active)?  Refresh and token exchange ask this every time.  An old
    enterprise login still acts for its taxpayer only before the sunset (idp.login.legacy_sunset)."""
    if person is None:
        return False
    if isinstance(person, LegacyEnterpriseAccount):
        choice = legacy_choice(person)
        return choice is not None and (choice.entity_id, choice.entity, act) == (entity_id, entity, None)
    if business == NATURAL_PERSON:
        return True
    return any(c.entity_id == entity_id and c.entity == entity and c.act == act
               for c in available_choices(person, business))


#: Built once: every login asks, and building it per call cost SQLAlchemy more CPU than running
#: it (a prebuilt statement's cache key is memoized).
_PENDING_ROLES = (
    select(EntityRole, TaxpayerEntity)
    .join(TaxpayerEntity, TaxpayerEntity.id == EntityRole.entity_id)
    .where(EntityRole.person_id == bindparam("person_id"), EntityRole.status == "pending")
    .order_by(TaxpayerEntity.name)
)


def pending_roles(person: Person) -> Sequence[Row[EntityRole, TaxpayerEntity]]:
    """Roles an administrator added that the person has not confirmed yet."""
    return db.session.execute(_PENDING_ROLES, {"person_id": person.id}).all()


def confirm_roles(person: Person, role_ids: list[int], decline_ids: list[int]) -> None:
    """The person confirms (or declines) pending roles; declining removes them."""
    for role, entity in pending_roles(person):
        if role.id in role_ids:
            role.status, role.confirmed_at = "confirmed", utcnow()
            record_event("roles.confirmed", subject=person.sub, taxpayer_number=entity.taxpayer_number,
                         role=role.role)
        elif role.id in decline_ids:
            role.status, role.removed_at = "removed", utcnow()
            record_event("roles.declined", subject=person.sub, taxpayer_number=entity.taxpayer_number,
                         role=role.role)
