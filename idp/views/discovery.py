"""Discovery (OIDC Discovery 1.0, RFC 8414) and the JWKS."""

from __future__ import annotations

import hashlib
import json

from flask import Blueprint, Response, current_app, request

from idp.claims import CLAIMS_SUPPORTED, SCOPES_SUPPORTED
from idp.grants.auth_methods import TOKEN_ENDPOINT_AUTH_METHODS
from idp.login_state import ACR_VALUES

bp = Blueprint("discovery", __name__)

SIGNING_ALGS = ["ES256"]


def provider_metadata(issuer: str) -> dict:
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "userinfo_endpoint": f"{issuer}/userinfo",
        "jwks_uri": f"{issuer}/jwks.json",
        "introspection_endpoint": f"{issuer}/introspect",
        "revocation_endpoint": f"{issuer}/revoke",
        "end_session_endpoint": f"{issuer}/logout",
        "scopes_supported": SCOPES_SUPPORTED,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": SIGNING_ALGS,
        "userinfo_signing_alg_values_supported": SIGNING_ALGS,
        "token_endpoint_auth_methods_supported": TOKEN_ENDPOINT_AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": ["ES256", "RS256", "EdDSA"],
        "introspection_endpoint_auth_methods_supported": TOKEN_ENDPOINT_AUTH_METHODS[:3],
        "revocation_endpoint_auth_methods_supported": TOKEN_ENDPOINT_AUTH_METHODS,
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": CLAIMS_SUPPORTED,
        "acr_values_supported": list(ACR_VALUES),
        "prompt_values_supported": ["none", "login"],
        "ui_locales_supported": ["zh-CN", "en"],
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "authorization_response_iss_parameter_supported": True,
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
def openid_configuration():
    settings = current_app.config["IDP"]
    body = current_app.extensions.get("idp.discovery_body")
    if body is None:
        body = json.dumps(provider_metadata(settings.ISSUER)).encode()
        current_app.extensions["idp.discovery_body"] = body
    return _cached_json(body, "application/json", 3600)


@bp.route("/jwks.json")
def jwks():
    settings = current_app.config["IDP"]
    body = json.dumps(current_app.extensions["idp.keyring"].public_jwks()).encode()
    return _cached_json(body, "application/jwk-set+json", settings.JWKS_MAX_AGE)
