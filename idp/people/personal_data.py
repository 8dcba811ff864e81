"""The person's copy of what the provider holds about them (PIPL articles 44 and 45).

One JSON document: the profile, taxpayer roles, consents, login sessions, enrolled second
factors, face-processing consents and checks, and the person's own audit events of the last
``AUDIT_EXPORT_WINDOW``.  Nothing that opens the account is in it (password hash, session ids,
tokens, key material, code secrets, provider session ids), and another person's identifiers
that appear in the person's records (a legacy taxpayer number built from someone's document
number, a phone or document number in an audit detail) are masked.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from idp.core.clock import utcnow
from idp.core.database import db
from idp.core.settings import current_settings
from idp.models import (
    AppCode,
    AuditEvent,
    Client,
    ConsentRecord,
    EntityRole,
    FaceCheck,
    FaceConsent,
    Grant,
    LoginSession,
    Person,
    SecurityKey,
    TaxpayerEntity,
)
from idp.people.identity_documents import check_mod11_2, mask_document_number, mask_phone
from idp.taxpayers.taxpayer_numbers import check_uscc

#: How far back the person's own audit events go into the export ("the last 6 months").
AUDIT_EXPORT_WINDOW = timedelta(days=183)
#: Version of the document's layout, for whoever reads it with a program.
EXPORT_FORMAT = "qdtax-idp/personal-data/1"

_PHONE = re.compile(r"(?:\+?86)?1[3-9][0-9]{9}")
_ID_NUMBER = re.compile(r"[0-9]{17}[0-9X]|[0-9]{15}")
#: Audit-detail keys whose values are taxpayer numbers (possibly built from a document number).
_TAXPAYER_KEYS = frozenset({"taxpayer_number", "agency", "entity"})


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _embeds_a_document(number: str) -> bool:
    """True for legacy taxpayer numbers built from a natural person's document number."""
    if check_uscc(number):
        return False
    if len(number) == 18:
        return check_mod11_2(number)
    return (len(number) in (15, 17) and number.isdigit()) or len(number) == 20


class _Masker:
    """Masks identifiers in the person's records that are not the person's own."""

    def __init__(self, person: Person) -> None:
        self.own = {person.doc_number, person.phone}

    def taxpayer_number(self, number: str | None) -> str | None:
        if not number or not _embeds_a_document(number) or any(own in number for own in self.own):
            return number
        return mask_document_number(number)

    def text(self, value: str) -> str:
        if value in self.own:
            return value
        if _PHONE.fullmatch(value):
            return mask_phone(value)
        if _ID_NUMBER.fullmatch(value):
            return mask_document_number(value)
        return value

    def detail(self, value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: self.detail(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.detail(v, key) for v in value]
        if isinstance(value, str):
            return self.taxpayer_number(value) if key in _TAXPAYER_KEYS else self.text(value)
        return value


def _profile(person: Person) -> dict[str, Any]:
    return {
        "subject": person.sub, "name": person.name, "document_type": person.doc_type,
        "document_number": person.doc_number, "document_country": person.doc_country, "phone": person.phone,
        "username": person.username, "username_changed_at": _when(person.username_changed_at),
        "realname_level": person.realname_level, "status": person.status, "created_at": _when(person.created_at),
        "password_is_initial": person.password_is_initial,
    }


def _roles(person: Person, masker: _Masker) -> list[dict[str, Any]]:
    rows = db.session.execute(
        select(EntityRole, TaxpayerEntity).join(TaxpayerEntity, TaxpayerEntity.id == EntityRole.entity_id)
        .where(EntityRole.person_id == person.id).order_by(EntityRole.id)
    ).all()
    return [
        {"taxpayer_number": masker.taxpayer_number(entity.taxpayer_number), "taxpayer_name": entity.name,
         "taxpayer_kind": entity.kind, "tax_authority": entity.tax_authority_name, "role": role.role,
         "status": role.status, "added_at": _when(role.created_at), "confirmed_at": _when(role.confirmed_at),
         "removed_at": _when(role.removed_at)}
        for role, entity in rows
    ]


def _client_names() -> dict[str, str]:
    return dict(db.session.execute(select(Client.client_id, Client.name)).all())


def _consents(person: Person, names: dict[str, str]) -> list[dict[str, Any]]:
    rows = db.session.execute(
        select(ConsentRecord).where(ConsentRecord.person_id == person.id).order_by(ConsentRecord.id)
    ).scalars()
    return [
        {"application": names.get(row.client_id, row.client_id), "client_id": row.client_id,
         "scope": row.scope.split(), "granted_at": _when(row.granted_at), "withdrawn_at": _when(row.revoked_at)}
        for row in rows
    ]


def _acting_for(entity: dict | None, act: dict | None, masker: _Masker) -> dict[str, Any] | None:
    """The taxpayer a login or grant acted for, and the agency it acted through, without internal ids."""
    if not entity:
        return None
    acting = {"taxpayer_number": masker.taxpayer_number(entity.get("id")), "taxpayer_name": entity.get("name"),
              "role": entity.get("role")}
    if act:
        acting["through_agency"] = {"taxpayer_number": masker.taxpayer_number(act.get("sub")),
                                    "name": act.get("name")}
    return acting


def _sessions(person: Person, names: dict[str, str], masker: _Masker) -> list[dict[str, Any]]:
    sessions = db.session.execute(
        select(LoginSession).where(LoginSession.person_id == person.id).order_by(LoginSession.created_at)
    ).scalars().all()
    grants = db.session.execute(
        select(Grant).where(Grant.person_id == person.id).order_by(Grant.created_at)
    ).scalars().all()
    apps: dict[str, list[dict[str, Any]]] = {}
    for grant in grants:
        apps.setdefault(grant.login_session_id, []).append({
            "application": names.get(grant.client_id, grant.client_id), "client_id": grant.client_id,
            "scope": grant.scope.split(), "acting_for": _acting_for(grant.entity, grant.act, masker),
            "granted_at": _when(grant.created_at), "expires_at": _when(grant.expires_at),
            "revoked_at": _when(grant.revoked_at), "revoked_reason": grant.revoked_reason,
        })
    return [
        {"signed_in_at": _when(s.created_at), "authenticated_at": _when(datetime.fromtimestamp(s.auth_time, UTC)),
         "strength": s.acr, "methods": [m for m in s.amr if m != "mfa"], "business": s.business,
         "acting_for": _acting_for(s.entity, s.act, masker), "expires_at": _when(s.expires_at),
         "ended_at": _when(s.ended_at), "applications": apps.get(s.id, [])}
        for s in sessions
    ]


def _second_factors(person: Person) -> dict[str, Any]:
    keys = db.session.execute(
        select(SecurityKey).where(SecurityKey.person_id == person.id).order_by(SecurityKey.id)
    ).scalars()
    app_code = db.session.get(AppCode, person.id)
    return {
        "security_keys": [{"name": k.name, "registered_at": _when(k.created_at), "last_used_at": _when(k.last_used_at)}
                          for k in keys],
        "app_code": None if app_code is None else {
            "enrolled_at": _when(app_code.created_at), "confirmed_at": _when(app_code.confirmed_at),
            "last_used_at": _when(app_code.last_used_at)},
    }


def _face(person: Person) -> dict[str, Any]:
    consents = db.session.execute(
        select(FaceConsent).where(FaceConsent.doc_type == person.doc_type, FaceConsent.doc_number == person.doc_number)
        .order_by(FaceConsent.id)
    ).scalars()
    checks = db.session.execute(
        select(FaceCheck).where(FaceCheck.doc_type == person.doc_type, FaceCheck.doc_number == person.doc_number)
        .order_by(FaceCheck.created_at)
    ).scalars()
    return {
        "consents": [{"notice_version": c.notice_version, "given_at": _when(c.given_at),
                      "withdrawn_at": _when(c.withdrawn_at)} for c in consents],
        # No image is ever stored; the provider's session id and result reference stay out.
        "checks": [{"purpose": c.purpose, "started_at": _when(c.created_at), "status": c.status,
                    "similarity": c.similarity, "liveness_passed": c.liveness_passed} for c in checks],
    }


def _audit_events(person: Person, masker: _Masker) -> list[dict[str, Any]]:
    rows = db.session.execute(
        select(AuditEvent).where(AuditEvent.subject == person.sub, AuditEvent.at >= utcnow() - AUDIT_EXPORT_WINDOW)
        .order_by(AuditEvent.at, AuditEvent.id)
    ).scalars()
    return [
        {"at": _when(row.at), "event": row.event, "outcome": row.outcome, "client_id": row.client_id,
         "ip": row.ip, "detail": masker.detail(row.detail or {})}
        for row in rows
    ]


def export_personal_data(person: Person) -> dict[str, Any]:
    """Everything the provider holds about ``person``, as the person may take it away."""
    masker = _Masker(person)
    names = _client_names()
    return {
        "format": EXPORT_FORMAT,
        "issuer": current_settings().ISSUER,
        "generated_at": _when(utcnow()),
        "profile": _profile(person),
        "taxpayer_roles": _roles(person, masker),
        "consents": _consents(person, names),
        "sessions": _sessions(person, names, masker),
        "second_factors": _second_factors(person),
        "face": _face(person),
        "audit_events_since": _when(utcnow() - AUDIT_EXPORT_WINDOW),
        "audit_events": _audit_events(person, masker),
    }
