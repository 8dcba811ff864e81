"""Managing taxpayer entities, cross-region registrations, agency agreements and roles.

Imports and role changes are idempotent and audited; each CSV row is applied in its own
savepoint so a bad row never leaves half of itself behind.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from typing import IO

from sqlalchemy import select, update

from idp.audit.log import record_event
from idp.core.clock import utcnow
from idp.core.database import db, rows_changed
from idp.models import AgencyAgreement, CrossRegionRegistration, EntityRole, Grant, TaxpayerEntity
from idp.people.accounts import find_person_by_identifier
from idp.protocol.tokens import revoke_grant
from idp.taxpayers.taxpayer_numbers import TaxpayerNumberError, normalise_taxpayer_number

ENTITY_KINDS = ("enterprise", "individual_business", "agency", "other")
ROLES = ("legal_representative", "financial_officer", "tax_officer", "invoice_issuer", "administrator",
         "agent_staff")
#: 报验 / 跨区域税源登记, as the bureau's files name them, to our codes.
REGISTRATION_KINDS = {"报验": "report_inspection", "跨区域税源登记": "cross_region_tax_source",
                      "report_inspection": "report_inspection", "cross_region_tax_source": "cross_region_tax_source"}
STATUSES = ("active", "ended")
CSV_COLUMNS = ("row_type", "taxpayer_number", "name", "kind", "tax_authority_code", "tax_authority_name",
               "client_taxpayer_number", "status")


class EntityError(ValueError):
    """A row or command that cannot be applied; the message says why."""


@dataclass
class ImportReport:
    applied: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def find_entity(taxpayer_number: str) -> TaxpayerEntity | None:
    try:
        number = normalise_taxpayer_number(taxpayer_number)
    except TaxpayerNumberError:
        return None
    return db.session.execute(select(TaxpayerEntity).where(TaxpayerEntity.taxpayer_number == number)).scalar()


def _required(row: dict, *names: str) -> list[str]:
    values = [(row.get(name) or "").strip() for name in names]
    missing = [name for name, value in zip(names, values, strict=True) if not value]
    if missing:
        raise EntityError(f"missing {', '.join(missing)}")
    return values


def _status(row: dict) -> str:
    status = (row.get("status") or "active").strip()
    if status not in STATUSES:
        raise EntityError(f"status must be one of {', '.join(STATUSES)}")
    return status


def _existing(taxpayer_number: str) -> TaxpayerEntity:
    entity = find_entity(taxpayer_number)
    if entity is None:
        raise EntityError(f"no entity with taxpayer number {taxpayer_number!r} (import it first)")
    return entity


def _apply_entity(row: dict) -> bool:
    number, name, kind, code, authority = _required(row, "taxpayer_number", "name", "kind", "tax_authority_code",
                                                     "tax_authority_name")
    try:
        number = normalise_taxpayer_number(number)
    except TaxpayerNumberError as error:
        raise EntityError(error.message("en")) from None
    if kind not in ENTITY_KINDS:
        raise EntityError(f"kind must be one of {', '.join(ENTITY_KINDS)}")
    values = {"name": name, "kind": kind, "tax_authority_code": code, "tax_authority_name": authority,
              "status": _status(row)}
    entity = db.session.execute(select(TaxpayerEntity).where(TaxpayerEntity.taxpayer_number == number)).scalar()
    if entity is None:
        db.session.add(TaxpayerEntity(taxpayer_number=number, **values))
        return True
    changed = any(getattr(entity, k) != v for k, v in values.items())
    for key, value in values.items():
        setattr(entity, key, value)
    return changed


def _apply_registration(row: dict) -> bool:
    number, kind, code, authority = _required(row, "taxpayer_number", "kind", "tax_authority_code",
                                              "tax_authority_name")
    if kind not in REGISTRATION_KINDS:
        raise EntityError("kind must be 报验 or 跨区域税源登记")
    entity = _existing(number)
    kind = REGISTRATION_KINDS[kind]
    registration = db.session.execute(select(CrossRegionRegistration).where(
        CrossRegionRegistration.entity_id == entity.id, CrossRegionRegistration.kind == kind,
        CrossRegionRegistration.tax_authority_code == code)).scalar()
    status = _status(row)
    if registration is None:
        db.session.add(CrossRegionRegistration(entity_id=entity.id, kind=kind, tax_authority_code=code,
                                               tax_authority_name=authority, status=status))
        return True
    changed = (registration.tax_authority_name, registration.status) != (authority, status)
    registration.tax_authority_name, registration.status = authority, status
    return changed


def _apply_agreement(row: dict) -> bool:
    agency_number, client_number = _required(row, "taxpayer_number", "client_taxpayer_number")
    agency, client = _existing(agency_number), _existing(client_number)
    if agency.kind != "agency":
        raise EntityError(f"{agency.taxpayer_number} is not an agency (kind {agency.kind})")
    status = _status(row)
    agreement = db.session.execute(select(AgencyAgreement).where(
        AgencyAgreement.agency_entity_id == agency.id, AgencyAgreement.client_entity_id == client.id)).scalar()
    if agreement is None:
        db.session.add(AgencyAgreement(agency_entity_id=agency.id, client_entity_id=client.id, status=status))
        return True
    if agreement.status == status:
        return False
    agreement.status = status
    agreement.ended_at = utcnow() if status == "ended" else None
    return True


ROW_TYPES = {"entity": _apply_entity, "cross_region": _apply_registration, "agency_agreement": _apply_agreement}


def import_entities(stream: IO[str]) -> ImportReport:
    """Apply a CSV (columns ``CSV_COLUMNS``); the caller commits. Line numbers count the header as 1."""
    report = ImportReport()
    reader = csv.DictReader(stream)
    missing = set(CSV_COLUMNS[:2]) - set(reader.fieldnames or [])
    if missing:
        raise EntityError(f"the CSV needs the columns {', '.join(CSV_COLUMNS)}")
    for line, row in enumerate(reader, start=2):
        apply = ROW_TYPES.get((row.get("row_type") or "").strip())
        if apply is None:
            report.errors.append((line, f"row_type must be one of {', '.join(ROW_TYPES)}"))
            continue
        try:
            with db.session.begin_nested():
                changed = apply(row)
        except EntityError as error:
            report.errors.append((line, str(error)))
            record_event("entities.import_row", "failure", line=line, reason=str(error)[:200])
            continue
        if changed:
            report.applied += 1
            record_event("entities.import_row", line=line, row_type=row["row_type"],
                         taxpayer_number=row["taxpayer_number"].strip())
        else:
            report.unchanged += 1
    return report


def _person(identifier: str):
    person = find_person_by_identifier(identifier)
    if person is None:
        raise EntityError("no registered person with that username, phone or document number "
                          "(a person must register as a natural person first)")
    return person


def add_role(identifier: str, taxpayer_number: str, role: str) -> EntityRole:
    """Give a person a role on an entity: pending until they confirm it at their next login."""
    if role not in ROLES:
        raise EntityError(f"role must be one of {', '.join(ROLES)}")
    person, entity = _person(identifier), _existing(taxpayer_number)
    if role == "agent_staff" and entity.kind != "agency":
        raise EntityError("agent_staff is a role on an agency")
    existing = db.session.execute(select(EntityRole).where(
        EntityRole.person_id == person.id, EntityRole.entity_id == entity.id, EntityRole.role == role)).scalar()
    if existing is not None and existing.status != "removed":
        return existing
    if existing is None:
        existing = EntityRole(person_id=person.id, entity_id=entity.id, role=role)
        db.session.add(existing)
    existing.status, existing.removed_at, existing.confirmed_at = "pending", None, None
    record_event("roles.added", subject=person.sub, taxpayer_number=entity.taxpayer_number, role=role)
    return existing


def remove_role(identifier: str, taxpayer_number: str, role: str) -> bool:
    """End a role; the person's grants for that entity end at once (and refresh re-checks too)."""
    person, entity = _person(identifier), _existing(taxpayer_number)
    changed = rows_changed(db.session.execute(
        update(EntityRole)
        .where(EntityRole.person_id == person.id, EntityRole.entity_id == entity.id, EntityRole.role == role,
               EntityRole.status != "removed")
        .values(status="removed", removed_at=utcnow())
    ))
    if changed:
        for grant_id in db.session.execute(select(Grant.id).where(
                Grant.person_id == person.id, Grant.revoked_at.is_(None),
                Grant.entity_id == entity.id)).scalars().all():
            revoke_grant(grant_id, "role_removed")
        record_event("roles.removed", subject=person.sub, taxpayer_number=entity.taxpayer_number, role=role)
    return bool(changed)
