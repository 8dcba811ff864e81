"""Discovery (OIDC Discovery 1.0, RFC 8414) and the JWKS."""

from __future__ import annotations

import hashlib
import json

from flask import Blueprint, Response, current_app, request

from idp.core.assurance import ACR_VALUES
from idp.core.settings import current_settings
from idp.grants.auth_methods import TOKEN_ENDPOINT_AUTH_METHODS
from idp.keyring import ALGORITHMS, current_keyring
from idp.protocol.claims import CLAIMS_SUPPORTED, SCOPES_SUPPORTED
from idp.protocol.clients import GRANT_TYPES
from idp.protocol.dpop import DPOP_ALGORITHMS
from idp.protocol.request_objects import REQUEST_OBJECT_ALGORITHMS
from idp.protocol.subjects import SUBJECT_TYPES

bp = Blueprint("discovery", __name__)

SIGNING_ALGS = list(ALGORITHMS)


def provider_metadata(issuer: str) -> dict:
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "device_authorization_endpoint": f"{issuer}/device_authorization",  # RFC 8628 section 4
        "userinfo_endpoint": f"{issuer}/userinfo",
        "jwks_uri": f"{issuer}/jwks.json",
        "introspection_endpoint": f"{issuer}/introspect",
        "revocation_endpoint": f"{issuer}/revoke",
        "end_session_endpoint": f"{issuer}/logout",
        "pushed_authorization_request_endpoint": f"{issuer}/par",  # RFC 9126 section 5
        "scopes_supported": SCOPES_SUPPORTED,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": list(GRANT_TYPES),
        "subject_types_supported": SUBJECT_TYPES,
        "id_token_signing_alg_values_supported": SIGNING_ALGS,
        "token_endpoint_auth_methods_supported": TOKEN_ENDPOINT_AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": ["ES256", "RS256", "EdDSA"],
        "introspection_endpoint_auth_methods_supported": TOKEN_ENDPOINT_AUTH_METHODS[:3],
        "revocation_endpoint_auth_methods_supported": TOKEN_ENDPOINT_AUTH_METHODS,
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": CLAIMS_SUPPORTED,
        "acr_values_supported": list(ACR_VALUES),
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "ui_locales_supported": ["zh-CN", "en"],
        "claims_parameter_supported": True,
        # Signed request objects only (RFC 9101); request_uri only as a pushed request's URN,
        # never fetched from the client, hence "not supported" in OIDC Discovery's sense.
        "request_parameter_supported": True,
        "request_object_signing_alg_values_supported": REQUEST_OBJECT_ALGORITHMS,
        "request_uri_parameter_supported": False,
        "require_pushed_authorization_requests": False,
        "authorization_response_iss_parameter_supported": True,
        "dpop_signing_alg_values_supported": DPOP_ALGORITHMS,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
    }


def _cached_json(body: bytes, content_type: str, max_age: int) -> Response:
    etag = hashlib.sha256(body).hexdigest()[:32]
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        response = Response(body, content_type=content_type)
    response.set_etag(etag)
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    return response


@bp.route("/.well-known/openid-configuration")
@bp.route("/.well-known/oauth-authorization-server")  # RFC 8414 section 3
def openid_configuration():
    settings = current_settings()
    body = current_app.extensions.get("idp.discovery_body")
    if body is None:
        body = json.dumps(provider_metadata(settings.ISSUER)).encode()
        current_app.extensions["idp.discovery_body"] = body
    return _cached_json(body, "application/json", 3600)


@bp.route("/jwks.json")
def jwks():
    settings = current_settings()
    body = current_keyring().public_jwks_document()
    return _cached_json(body, "application/jwk-set+json", settings.JWKS_MAX_AGE)
