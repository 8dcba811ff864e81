"""Registering relying parties, and the per-worker client cache the token endpoint reads."""

from __future__ import annotations

import secrets

from sqlalchemy import select

from idp.audit.log import record_event
from idp.core.assurance import ACR_VALUES
from idp.core.database import db
from idp.keyring import ALGORITHMS, ID_TOKEN_DEFAULT_ALGORITHM
from idp.models import Client
from idp.models.client import hash_client_secret
from idp.protocol.redirect_uris import RedirectUriError, check_browser_uri, check_server_uri
from idp.protocol.subjects import PAIRWISE, PUBLIC, SectorIdentifierError, validate_pairwise_sector

GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials",
               "urn:ietf:params:oauth:grant-type:token-exchange",
               # The QR scan grant under its own URN and RFC 8628's (idp.grants.qr_scan).
               "urn:qdtax:params:oauth:grant-type:qr-scan", "urn:ietf:params:oauth:grant-type:device_code")
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
DEFAULT_SCOPE = "openid profile phone"
#: Apps that may approve QR logins: the bureau's own app (an access token with ``qr:approve``)
#: and the external apps that sign approvals with their registered key (docs/architecture.md §6).
QR_APPROVER_KINDS = ("bureau_app", "iit_app", "business_licence_app")
QR_APPROVE_SCOPE = "qr:approve"


class ClientRegistrationError(ValueError):
    """A registration request that cannot be honoured; the message says why."""


def _check_uris(redirect_uris: list[str], post_logout_redirect_uris: list[str], backchannel_logout_uri: str | None,
                *, native: bool) -> None:
    """RFC 6749 section 3.1.2 and RFC 8252 for where browsers are sent; Back-Channel Logout 1.0
    section 2.2 for the URI the provider posts logout tokens to."""
    try:
        for uri in redirect_uris:
            check_browser_uri(uri, native=native)
        for uri in post_logout_redirect_uris:
            check_browser_uri(uri, native=native, what="post_logout_redirect_uri")
        if backchannel_logout_uri is not None:
            check_server_uri(backchannel_logout_uri, "backchannel_logout_uri")
    except RedirectUriError as error:
        raise ClientRegistrationError(str(error)) from None


def generate_client_secret() -> str:
    return secrets.token_urlsafe(32)


def create_client(
    *,
    name: str,
    redirect_uris: list[str],
    public: bool = False,
    first_party: bool = False,
    grant_types: list[str] | None = None,
    auth_method: str | None = None,
    scope: str = DEFAULT_SCOPE,
    jwks: dict | None = None,
    post_logout_redirect_uris: list[str] | None = None,
    id_token_alg: str = ID_TOKEN_DEFAULT_ALGORITHM,
    qr_approver: str | None = None,
    backchannel_logout_uri: str | None = None,
    backchannel_logout_session_required: bool = False,
    require_pushed_authorization_requests: bool = False,
    dpop_bound_access_tokens: bool = False,
    sector_identifier_uri: str | None = None,
    default_acr_values: list[str] | str | None = None,
) -> tuple[Client, str | None]:
    """Register a client; returns it and its one-time-visible secret (None for public clients)."""
    external_approver = qr_approver in ("iit_app", "business_licence_app")
    # An external app only signs approvals: by default it never calls the token endpoint.
    grant_types = list(grant_types or ([] if external_approver else ["authorization_code", "refresh_token"]))
    auth_method = auth_method or ("none" if public else "private_key_jwt" if external_approver
                                  else "client_secret_basic")
    scope = _check_qr_approver(qr_approver, scope, jwks)
    unknown = set(grant_types) - set(GRANT_TYPES)
    if unknown:
        raise ClientRegistrationError(f"unsupported grant type(s): {', '.join(sorted(unknown))}")
    if auth_method not in AUTH_METHODS:
        raise ClientRegistrationError(f"unsupported auth method {auth_method!r}; use one of {', '.join(AUTH_METHODS)}")
    if public and auth_method != "none":
        raise ClientRegistrationError("a public client authenticates with 'none'")
    if not public and auth_method == "none":
        raise ClientRegistrationError("a confidential client needs an auth method other than 'none'")
    if public and "client_credentials" in grant_types:
        raise ClientRegistrationError("a public client cannot use client_credentials")
    if auth_method == "private_key_jwt" and not jwks:
        raise ClientRegistrationError("private_key_jwt needs the client's public JWKS")
    if id_token_alg not in ALGORITHMS:
        raise ClientRegistrationError(
            f"unsupported ID token algorithm {id_token_alg!r}; use one of {', '.join(ALGORITHMS)}")
    if "authorization_code" in grant_types and not redirect_uris:
        raise ClientRegistrationError("the authorization_code grant needs at least one redirect URI")
    _check_uris(list(redirect_uris), list(post_logout_redirect_uris or []), backchannel_logout_uri, native=public)
    # OIDC Core 8: the bureau's own apps share the public sub; every other app gets a pairwise one.
    subject_type = PUBLIC if first_party else PAIRWISE
    if first_party and sector_identifier_uri:
        raise ClientRegistrationError("sector_identifier_uri only applies to third-party (pairwise) clients")
    if subject_type == PAIRWISE:
        try:
            validate_pairwise_sector(list(redirect_uris), sector_identifier_uri)
        except SectorIdentifierError as error:
            raise ClientRegistrationError(str(error)) from None

    default_acr_values = _check_default_acr_values(default_acr_values)
    secret = generate_client_secret() if auth_method in ("client_secret_basic", "client_secret_post") else None
    client = Client(
        client_id=secrets.token_urlsafe(16),
        client_secret_hash=hash_client_secret(secret) if secret else None,
        name=name,
        redirect_uris=list(redirect_uris),
        post_logout_redirect_uris=list(post_logout_redirect_uris or []),
        grant_types=grant_types,
        scope=scope,
        token_endpoint_auth_method=auth_method,
        jwks=jwks,
        id_token_signed_response_alg=id_token_alg,
        first_party=first_party,
        qr_approver=qr_approver,
        backchannel_logout_uri=backchannel_logout_uri,
        backchannel_logout_session_required=backchannel_logout_session_required,
        require_pushed_authorization_requests=require_pushed_authorization_requests,
        dpop_bound_access_tokens=dpop_bound_access_tokens,
        subject_type=subject_type,
        sector_identifier_uri=sector_identifier_uri,
        default_acr_values=default_acr_values,
    )
    db.session.add(client)
    record_event("client.registered", client_id=client.client_id, name=name, auth_method=auth_method)
    return client, secret


def _check_default_acr_values(values: list[str] | str | None) -> list[str] | None:
    """OIDC Dynamic Client Registration 1.0 section 2 ``default_acr_values``: our ``acr`` values only
    (a space-separated string is accepted, as ``acr_values`` is sent)."""
    values = values.split() if isinstance(values, str) else list(values or [])
    unknown = [v for v in values if v not in ACR_VALUES]
    if unknown:
        raise ClientRegistrationError(f"unknown default_acr_values {', '.join(unknown)}; use {', '.join(ACR_VALUES)}")
    return values or None


def _check_qr_approver(kind: str | None, scope: str, jwks: dict | None) -> str:
    """The scope to register: only the bureau app holds ``qr:approve``; external apps need keys."""
    if kind is not None and kind not in QR_APPROVER_KINDS:
        raise ClientRegistrationError(f"unknown QR approver kind {kind!r}; use one of {', '.join(QR_APPROVER_KINDS)}")
    scopes = scope.split()
    if kind == "bureau_app":
        return scope if QR_APPROVE_SCOPE in scopes else " ".join([*scopes, QR_APPROVE_SCOPE])
    if QR_APPROVE_SCOPE in scopes:
        raise ClientRegistrationError(f"the {QR_APPROVE_SCOPE} scope is for the bureau app (--qr-approver bureau_app)")
    if kind is not None and not (jwks or {}).get("keys"):
        raise ClientRegistrationError("an external QR approver needs the public JWKS that verifies its approvals")
    return scope


def list_clients() -> list[Client]:
    return list(db.session.execute(select(Client).order_by(Client.id)).scalars())
