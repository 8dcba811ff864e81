"""Who may approve a QR login, and what login an approval grants (docs/architecture.md §6, docs/domain.md §1.11).

Three kinds of approver, named by the client registration's ``qr_approver``:

* ``bureau_app``: the bureau's own app, calling with an access token that carries ``qr:approve``.
  The web login inherits the app session's factors, business entry and taxpayer.
* ``iit_app``: the individual income tax app, signing each call with its registered key.  It logs
  in natural-person business only, and only for a person registered and real-name verified here
  (and, as the signed ``realname_verified`` claim states, there).
* ``business_licence_app``: the electronic business licence app, signing likewise.  It logs in
  enterprise business as the enterprise's legal representative, who must be registered here and
  hold a confirmed ``legal_representative`` role on that enterprise (granted by the bureau's
  entity import or ``idp entities`` commands, confirmed by the person at a login).

A signed approval is a JWT (RFC 7519) with ``iss`` = the app's client_id, ``aud`` = our issuer,
``exp`` (at most QR_ASSERTION_MAX_AGE ahead), a single-use ``jti``, the scanned payload as ``qr``,
and the ``amr`` of the app's own login (RFC 8176 values).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask import json as flask_json
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import select

from idp.consent.choices import ENTERPRISE, NATURAL_PERSON, available_choices, check_still_allowed
from idp.core.assurance import LOA_2, derive_acr
from idp.core.database import conflict_insert, db
from idp.core.settings import current_settings
from idp.models import Grant, Person, UsedAssertion
from idp.people.identity_documents import DocumentNumberError, normalise_document_number
from idp.protocol.acr import ACR_RANK
from idp.protocol.client_registry import client_registry
from idp.protocol.clients import QR_APPROVE_SCOPE
from idp.protocol.tokens import digest, load_access_token
from idp.qr.codes import ApprovingLogin, QrError
from idp.taxpayers.entities import find_entity

BUREAU_APP = "bureau_app"
IIT_APP = "iit_app"
BUSINESS_LICENCE_APP = "business_licence_app"
EXTERNAL_APPS = (IIT_APP, BUSINESS_LICENCE_APP)
#: RFC 8176 section 2 method values; anything else in an external app's ``amr`` is ignored.
RFC8176_AMR = frozenset({"face", "fpt", "geo", "hwk", "iris", "kba", "mca", "mfa", "otp", "pin", "pwd", "rba",
                         "retina", "sc", "sms", "swk", "tel", "user", "vbm", "wia"})
ASSERTION_ALGORITHMS = ["ES256", "RS256", "EdDSA"]


@dataclass(frozen=True)
class Approver:
    """The app behind one API call.  ``key`` binds a scan to the later decision: the bureau
    app's login (its grant), or the external app itself."""

    kind: str
    client_id: str
    key: str
    #: ``sub`` of the person using the bureau app (for the audit log); None for external apps.
    subject: str | None = None
    grant: Grant | None = None
    #: The verified claims of an external app's signed approval.
    claims: dict = field(default_factory=dict)

    @property
    def payload(self) -> str | None:
        """External apps sign the scanned payload into the call itself."""
        value = self.claims.get("qr")
        return value if isinstance(value, str) else None


def _clients():
    return client_registry()


def approver_from_access_token(token_string: str) -> Approver:
    """The bureau app, by its access token: active, with ``qr:approve``, of a bureau-app client."""
    token = load_access_token(token_string)
    if token is None or token.is_expired() or token.is_revoked():
        raise QrError("invalid_token", 401)
    client = token.get_client()
    if QR_APPROVE_SCOPE not in token.get_scope().split() or client is None or client.qr_approver != BUREAU_APP:
        raise QrError("insufficient_scope", 403)
    grant = db.session.get(Grant, token.claims.get("grant_id") or "")
    if grant is None:
        raise QrError("invalid_token", 401)
    return Approver(BUREAU_APP, client.client_id, digest("grant:" + grant.id), token.claims.get("sub"), grant)


def _unverified_issuer(assertion: str) -> str | None:
    """The app the assertion names, to find the key that verifies it (read before any check)."""
    try:
        claims = flask_json.loads(jws.extract_compact(assertion.encode()).payload)
    except (JoseError, ValueError):
        return None
    return claims.get("iss") if isinstance(claims, dict) and isinstance(claims.get("iss"), str) else None


def _consume_jti(issuer: str, jti: str, exp: int) -> bool:
    """Record the ``jti`` as used; False when it already was (replay), in one atomic INSERT."""
    stmt = (conflict_insert(UsedAssertion)
            .values(jti_digest=digest(f"{issuer}:{jti}"), expires_at=datetime.fromtimestamp(exp, tz=UTC))
            .on_conflict_do_nothing().returning(UsedAssertion.jti_digest))
    return db.session.execute(stmt).first() is not None


def approver_from_assertion(assertion: object) -> Approver:
    """An external app, by a JWT signed with the key it registered (verified with joserfc)."""
    if not isinstance(assertion, str) or len(assertion) > 8192:
        raise QrError("invalid_assertion", 401)
    issuer = _unverified_issuer(assertion)
    client = _clients().query_client(issuer) if issuer else None
    if client is None or client.qr_approver not in EXTERNAL_APPS or not client.jwks:
        raise QrError("invalid_assertion", 401)
    settings = current_settings()
    try:
        claims = jwt.decode(assertion, KeySet.import_key_set(client.jwks), algorithms=ASSERTION_ALGORITHMS).claims
        jwt.JWTClaimsRegistry(
            leeway=30, iss={"essential": True, "value": client.client_id},
            aud={"essential": True, "value": settings.ISSUER}, exp={"essential": True}, jti={"essential": True},
        ).validate(claims)
    except (JoseError, ValueError, TypeError):
        raise QrError("invalid_assertion", 401) from None
    if not isinstance(claims["exp"], int) or claims["exp"] > time.time() + settings.QR_ASSERTION_MAX_AGE + 30:
        raise QrError("invalid_assertion", 401)
    if not _consume_jti(client.client_id, claims["jti"], claims["exp"]):
        raise QrError("assertion_replayed", 401)
    return Approver(client.qr_approver, client.client_id, digest("client:" + client.client_id), claims=claims)


# --- what an approval grants --------------------------------------------------------------------

def _check_strong_enough(acr: str) -> None:
    """Approval needs an app session at loa:2 or better (docs/architecture.md §6)."""
    if ACR_RANK.get(acr, 0) < ACR_RANK[LOA_2]:
        raise QrError("app_session_too_weak", 403)


def _bureau_app_login(approver: Approver) -> ApprovingLogin:
    grant = approver.grant
    if grant is None or grant.person_id is None:
        # An old enterprise login (loa:1, no person) never approves a QR login.
        raise QrError("app_session_too_weak", 403)
    person = db.session.get(Person, grant.person_id)
    if person is None or person.status != "active":
        raise QrError("invalid_token", 401)
    _check_strong_enough(grant.acr)
    # The web acts for whom the app acts (docs/domain.md §1.11), if the person still holds that role.
    if not check_still_allowed(person, grant.business, grant.entity_id, grant.entity, grant.act):
        raise QrError("role_ended", 403)
    return ApprovingLogin(person, list(grant.amr), grant.business, grant.entity_id, grant.entity, grant.act)


def _signed_amr(claims: dict) -> list[str]:
    amr = claims.get("amr")
    methods = [m for m in amr if isinstance(m, str) and m in RFC8176_AMR] if isinstance(amr, list) else []
    _check_strong_enough(derive_acr(methods))
    return methods


def _person_named(document: object) -> Person | None:
    """The active person whose identity document the app names (``doc_type``, ``doc_number``)."""
    if not isinstance(document, dict) or not all(isinstance(document.get(k), str) for k in ("doc_type", "doc_number")):
        return None
    try:
        number = normalise_document_number(document["doc_type"], document["doc_number"],
                                           country=document.get("country"))
    except DocumentNumberError:
        return None
    person = db.session.execute(select(Person).where(
        Person.doc_type == document["doc_type"], Person.doc_number == number)).scalar_one_or_none()
    return person if person is not None and person.status == "active" else None


def _iit_login(approver: Approver) -> ApprovingLogin:
    """docs/domain.md §1.11: natural-person business only, for a person registered and real-name verified in both."""
    person = _person_named(approver.claims.get("person"))
    settings = current_settings()
    if (person is None or person.realname_level < settings.QR_IIT_MIN_REALNAME_LEVEL
            or approver.claims.get("realname_verified") is not True):
        raise QrError("iit_not_eligible", 403)
    return ApprovingLogin(person, _signed_amr(approver.claims), NATURAL_PERSON)


def _business_licence_login(approver: Approver) -> ApprovingLogin:
    """Enterprise business, acting as the enterprise's legal representative."""
    enterprise = approver.claims.get("enterprise")
    uscc = enterprise.get("uscc") if isinstance(enterprise, dict) else None
    entity = find_entity(uscc) if isinstance(uscc, str) else None
    if entity is None or entity.status != "active":
        raise QrError("entity_not_registered", 403)
    person = _person_named(approver.claims.get("legal_representative"))
    if person is None:
        raise QrError("not_registered", 403)
    choice = next((c for c in available_choices(person, ENTERPRISE)
                   if c.entity_id == entity.id and c.entity is not None
                   and c.entity["role"] == "legal_representative"), None)
    if choice is None:
        raise QrError("not_legal_representative", 403)
    return ApprovingLogin(person, _signed_amr(approver.claims), ENTERPRISE, choice.entity_id, choice.entity,
                          choice.act)


_LOGIN_RULES = {BUREAU_APP: _bureau_app_login, IIT_APP: _iit_login, BUSINESS_LICENCE_APP: _business_licence_login}


def approving_login(approver: Approver) -> ApprovingLogin:
    """The login this approver's approval grants, or a :class:`QrError` saying why none."""
    return _LOGIN_RULES[approver.kind](approver)
