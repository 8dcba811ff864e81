"""Signed request objects (RFC 9101; OpenID Connect Core 6.1) at /authorize and /par.

authlib's :class:`~authlib.oauth2.rfc9101.JWTAuthenticationRequest` verifies the JWS with the
client's registered JWKS and checks ``client_id``; this module adds what the provider's
profile needs around it: unsigned objects (``alg: none``) are refused by name, ``aud`` (when
present) must be this issuer and ``iss`` (when present) the client, and the claims become
string parameters, so the rest of the authorization endpoint reads them like a query.
``request_uri`` by reference is not fetched: only pushed requests' URNs are accepted.
"""

from __future__ import annotations

import json

from authlib.integrations.flask_oauth2.requests import FlaskOAuth2Request
from authlib.oauth2.rfc6749 import OAuth2Payload
from authlib.oauth2.rfc9101 import JWTAuthenticationRequest
from authlib.oauth2.rfc9101.errors import InvalidRequestObjectError
from flask import request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, KeySetSerialization
from joserfc.jws import extract_compact
from werkzeug.datastructures import MultiDict

from idp.core.settings import current_settings

#: Algorithms a request object may be signed with (advertised; "none" is not among them).
REQUEST_OBJECT_ALGORITHMS = ["ES256", "RS256", "PS256", "EdDSA"]
#: Claims that describe the JWT itself rather than the authorization request.
JWT_CLAIMS = frozenset({"iss", "aud", "exp", "iat", "nbf", "jti"})
#: Seconds of clock skew allowed on ``exp``/``nbf``/``iat``.
LEEWAY = 30


class ParameterPayload(OAuth2Payload):
    """Authorization parameters that did not come straight from the query (a pushed request,
    a request object, a resumed interaction)."""

    def __init__(self, values: MultiDict):
        self._values = values

    @property
    def data(self) -> MultiDict:
        return self._values

    @property
    def datalist(self) -> dict[str, list]:
        return {key: self._values.getlist(key) for key in self._values}


def authorization_request_with(values: MultiDict) -> FlaskOAuth2Request:
    """An authlib request for this HTTP request whose parameters are ``values``."""
    oauth_request = FlaskOAuth2Request(request)
    oauth_request.payload = ParameterPayload(values)
    return oauth_request


class SignedRequestObject(JWTAuthenticationRequest):
    def __init__(self, issuer: str, client_id: str | None):
        super().__init__(support_request=True, support_request_uri=False)
        options: dict = {"client_id": {"essential": True}, "aud": {"values": [issuer]}}
        if client_id:
            options["iss"] = {"value": client_id}
        self.claims_validator = jwt.JWTClaimsRegistry(leeway=LEEWAY, **options)

    def resolve_client_public_key(self, client) -> KeySet:
        return KeySet.import_key_set(client.jwks or KeySetSerialization(keys=[]))

    def get_server_metadata(self) -> dict:
        return {"request_object_signing_alg_values_supported": REQUEST_OBJECT_ALGORITHMS}


def _refuse_unsigned(raw: object) -> None:
    try:
        alg = extract_compact(raw.encode()).headers().get("alg") if isinstance(raw, str) else None
    except (JoseError, ValueError, TypeError, UnicodeError):
        raise InvalidRequestObjectError() from None
    if alg is None or str(alg).lower() == "none":
        raise InvalidRequestObjectError(
            "Unsigned request objects (alg 'none') are not accepted: sign it with one of "
            f"{', '.join(REQUEST_OBJECT_ALGORITHMS)} and a key in the client's registered JWKS.")


def _as_parameter(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)  # max_age
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)  # claims
    return None


def parameters_from_request_object(server, values: MultiDict) -> MultiDict:
    """The authorization request inside ``values["request"]``, verified (RFC 9101 section 6).

    Only the request object's parameters count (section 5); ``client_id`` must match the
    query's.  Raises :class:`InvalidRequestObjectError` (or another OAuth2Error) when it fails.
    """
    _refuse_unsigned(values.get("request"))
    client = server.query_client(values.get("client_id"))
    if client is not None and not client.jwks:
        raise InvalidRequestObjectError("The client has no registered JWKS to verify request objects with.")
    oauth_request = authorization_request_with(values)
    SignedRequestObject(current_settings().ISSUER, values.get("client_id")).parse_authorization_request(
        server, oauth_request)
    claims = oauth_request.payload.data
    pairs = [(name, _as_parameter(value)) for name, value in claims.items() if name not in JWT_CLAIMS]
    return MultiDict([(name, value) for name, value in pairs if value is not None])
