"""Which claims about a person each scope releases (ID token and userinfo alike).

An old enterprise login (dual-track) reaches no person: it releases its own ``sub`` and the
business context (``business``, ``entity``) only; no ``realname_level``, name or phone, whatever
the scope (docs/legacy-login.md)."""

from __future__ import annotations

from authlib.oauth2.rfc6749 import scope_to_list
from authlib.oidc.core import UserInfo

from idp.models import LegacyEnterpriseAccount, Person

#: ``qr:approve``: the bureau app approves QR logins with it (registered with --qr-approver bureau_app).
SCOPES_SUPPORTED = ["openid", "profile", "phone", "qr:approve"]
#: Scopes that release claims about a person: meaningless for a token that speaks for a client alone.
PERSON_SCOPES = frozenset({"openid", "profile", "phone"})
CLAIMS_SUPPORTED = [
    "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "at_hash",
    "name", "preferred_username", "phone_number", "phone_number_verified", "realname_level",
    "business", "entity", "act",
]


def business_claims(business: str, entity: dict | None, act: dict | None) -> dict:
    """Whom the login acts for: ``business``, ``entity`` and, for agents, RFC 8693 ``act``."""
    claims: dict = {"business": business}
    if entity is not None:
        claims["entity"] = entity
    if act is not None:
        claims["act"] = act
    return claims


def generate_user_info(person: Person | LegacyEnterpriseAccount, scope: str, context: dict | None = None,
                       subject: str | None = None) -> UserInfo:
    """``sub`` (``subject``: the client's pairwise one, else the public one), the real-name level
    and the business context always; profile and phone by scope."""
    if isinstance(person, LegacyEnterpriseAccount):
        return UserInfo(sub=subject or person.sub, **(context or {}))
    scopes = set(scope_to_list(scope) or [])
    info = UserInfo(sub=subject or person.sub, realname_level=person.realname_level, **(context or {}))
    if "profile" in scopes:
        info["name"] = person.name
        if person.username:
            info["preferred_username"] = person.username
    if "phone" in scopes:
        info["phone_number"] = person.phone
        info["phone_number_verified"] = True
    return info
