"""Which claims about a person each scope releases (ID token and userinfo alike)."""

from __future__ import annotations

from authlib.oauth2.rfc6749 import scope_to_list
from authlib.oidc.core import UserInfo

from idp.models import Person

SCOPES_SUPPORTED = ["openid", "profile", "phone"]
CLAIMS_SUPPORTED = [
    "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "at_hash",
    "name", "preferred_username", "phone_number", "phone_number_verified", "realname_level",
]


def generate_user_info(person: Person, scope: str) -> UserInfo:
    """``sub`` and the real-name level always; profile and phone claims by scope."""
    scopes = set(scope_to_list(scope) or [])
    info = UserInfo(sub=person.sub, realname_level=person.realname_level)
    if "profile" in scopes:
        info["name"] = person.name
        if person.username:
            info["preferred_username"] = person.username
    if "phone" in scopes:
        info["phone_number"] = person.phone
        info["phone_number_verified"] = True
    return info
