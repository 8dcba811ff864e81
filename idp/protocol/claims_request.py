"""The ``claims`` request parameter (OIDC Core 5.5): claims a relying party asks for by name.

A claim this provider has is released when asked for, in the ID token or at userinfo, as if
its scope had been asked for (``name`` and ``preferred_username`` come with ``profile``,
``phone_number`` and ``phone_number_verified`` with ``phone``): the client must be registered
for that scope, and a third-party client's consent page shows it. ``sub``, ``realname_level``,
``business``, ``entity``, ``act`` and the login claims (``acr``, ``amr``, ``auth_time``) come with
every OpenID request anyway. ``value``/``values`` are honoured for ``sub`` (only that person
may be logged in, 5.5.1) and ``acr`` (idp.protocol.acr); other claims are returned as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

from authlib.oauth2.rfc6749 import InvalidRequestError, scope_to_list
from flask import json as flask_json

#: The scope that releases each claim a client may ask for by name.
CLAIM_SCOPES = {"name": "profile", "preferred_username": "profile",
                "phone_number": "phone", "phone_number_verified": "phone"}
MEMBERS = ("id_token", "userinfo")


@dataclass(frozen=True)
class ClaimsRequest:
    #: member ("id_token", "userinfo") -> claim name -> its request ({} for ``null``).
    members: dict[str, dict[str, dict]]

    def entry(self, member: str, claim: str) -> dict | None:
        return self.members.get(member, {}).get(claim)

    def scopes(self) -> set[str]:
        """The scopes that release the claims asked for."""
        return {CLAIM_SCOPES[name] for claims in self.members.values() for name in claims if name in CLAIM_SCOPES}

    def subject_value(self) -> str | None:
        """The ``sub`` the relying party says must be logged in, if it named one."""
        for member in MEMBERS:
            value = (self.entry(member, "sub") or {}).get("value")
            if isinstance(value, str):
                return value
        return None


def _check_entry(entry: object) -> dict:
    # The claim names are the sender's text: not echoed into error_description.
    if entry is None:
        return {}
    if not isinstance(entry, dict):
        raise ValueError("each claim must be null or an object")
    if "essential" in entry and not isinstance(entry["essential"], bool):
        raise ValueError("'essential' must be true or false")
    if "values" in entry and not isinstance(entry["values"], list):
        raise ValueError("'values' must be an array")
    return entry


def _parse(raw: str) -> ClaimsRequest:
    try:
        document = flask_json.loads(raw)
    except (ValueError, RecursionError):
        raise ValueError("it is not JSON") from None
    if not isinstance(document, dict):
        raise ValueError("it must be a JSON object")
    members = {}
    for member in MEMBERS:
        claims = document.get(member)
        if claims is None:
            continue
        if not isinstance(claims, dict):
            raise ValueError(f"'{member}' must be an object")
        members[member] = {name: _check_entry(entry) for name, entry in claims.items()}
    return ClaimsRequest(members)


def parse_claims_request(params, redirect_uri: str | None) -> ClaimsRequest | None:
    """The ``claims`` of an OpenID request, or None; ``invalid_request`` when it is malformed (5.5)."""
    raw = params.get("claims")
    if not raw or "openid" not in (scope_to_list(params.get("scope")) or []):
        return None
    try:
        return _parse(raw)
    except ValueError as error:
        raise InvalidRequestError(f"'claims' is malformed: {error}.", redirect_uri=redirect_uri) from None


def requested_scope(params) -> str:
    """``scope`` with the scopes of the claims asked for by name (the consent page and the code
    use the same); a malformed ``claims`` adds nothing (/authorize refuses it first)."""
    scope = params.get("scope") or ""
    scopes = scope_to_list(scope) or []
    if "openid" not in scopes or not params.get("claims"):
        return scope
    try:
        extra = _parse(params["claims"]).scopes()
    except ValueError:
        return scope
    return " ".join([*scopes, *sorted(extra - set(scopes))])
