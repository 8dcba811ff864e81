"""Applying what the person decided on the choice and consent pages."""

from __future__ import annotations

from sqlalchemy import select, update

from idp.audit.log import record_event
from idp.consent.choices import Choice
from idp.consent.policy import normalise_scope, query_consent
from idp.consent.records import ConsentRecord
from idp.core.clock import utcnow
from idp.core.database import conflict_insert, db
from idp.models import Grant, LoginSession, Person
from idp.protocol.tokens import revoke_grant


def apply_choice(login: LoginSession, person: Person, choice: Choice) -> None:
    """The browser session now acts for ``choice`` (switching needs no new login)."""
    login.business, login.entity_id, login.entity, login.act = (choice.business, choice.entity_id, choice.entity,
                                                                choice.act)
    record_event("entity.selected", subject=person.sub, business=choice.business,
                 taxpayer_number=choice.entity["id"] if choice.entity else None,
                 tax_authority=choice.entity["tax_authority"]["code"] if choice.entity else None,
                 agency=choice.act["sub"] if choice.act else None)


def save_consent(person: Person, client_id: str, scope: str) -> None:
    """Record that ``person`` allows ``client_id`` the ``scope`` set, in one atomic statement.

    There is one record per (person, client, scope set), withdrawn or not: allowing a scope set
    withdrawn earlier makes its record live again, granted now (the audit log keeps the earlier
    grant and withdrawal).  Parallel allows never fail: the losers find a live record and leave it.
    """
    # A live consent to a wider scope set (prompt=consent asked again) needs no narrower record.
    if query_consent(person.id, client_id, scope) is None:
        now = utcnow()
        db.session.execute(conflict_insert(ConsentRecord).values(
            person_id=person.id, client_id=client_id, scope=normalise_scope(scope), granted_at=now, revoked_at=None,
        ).on_conflict_do_update(
            index_elements=[ConsentRecord.person_id, ConsentRecord.client_id, ConsentRecord.scope],
            set_={"granted_at": now, "revoked_at": None},
            # A live record keeps the time it was granted.
            where=ConsentRecord.revoked_at.is_not(None),
        ))
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
