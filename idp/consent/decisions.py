"""Applying what the person decided on the choice and consent pages."""

from __future__ import annotations

from sqlalchemy import select, update

from idp.audit import record_event
from idp.clock import utcnow
from idp.consent.choices import Choice
from idp.consent.policy import normalise_scope, query_consent
from idp.database import db
from idp.models import ConsentRecord, Grant, LoginSession, Person
from idp.tokens import revoke_grant


def apply_choice(login: LoginSession, person: Person, choice: Choice) -> None:
    """The browser session now acts for ``choice`` (switching needs no new login)."""
    login.business, login.entity_id, login.entity, login.act = (choice.business, choice.entity_id, choice.entity,
                                                                choice.act)
    record_event("entity.selected", subject=person.sub, business=choice.business,
                 taxpayer_number=choice.entity["id"] if choice.entity else None,
                 tax_authority=choice.entity["tax_authority"]["code"] if choice.entity else None,
                 agency=choice.act["sub"] if choice.act else None)


def save_consent(person: Person, client_id: str, scope: str) -> None:
    if query_consent(person.id, client_id, scope) is None:
        db.session.add(ConsentRecord(person_id=person.id, client_id=client_id, scope=normalise_scope(scope)))
    record_event("consent.granted", subject=person.sub, client_id=client_id, scope=normalise_scope(scope))


def revoke_consent(person: Person, client_id: str) -> None:
    """Withdraw consent for a client: its grants for this person end with it."""
    db.session.execute(update(ConsentRecord).where(
        ConsentRecord.person_id == person.id, ConsentRecord.client_id == client_id,
        ConsentRecord.revoked_at.is_(None)).values(revoked_at=utcnow()))
    for grant_id in db.session.execute(select(Grant.id).where(
            Grant.person_id == person.id, Grant.client_id == client_id, Grant.revoked_at.is_(None))).scalars().all():
        revoke_grant(grant_id, "consent_revoked")
    record_event("consent.revoked", subject=person.sub, client_id=client_id)


def list_consents(person: Person) -> list[ConsentRecord]:
    return list(db.session.execute(select(ConsentRecord).where(
        ConsentRecord.person_id == person.id, ConsentRecord.revoked_at.is_(None))
        .order_by(ConsentRecord.granted_at)).scalars())
