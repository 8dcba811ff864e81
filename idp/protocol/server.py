"""The authorization server wiring: authlib's server, its endpoints, and client authentication."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import partial

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.integrations.flask_oauth2.requests import FlaskOAuth2Request
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidClientError, InvalidRequestError, MissingAuthorizationError
from authlib.oauth2.rfc6749 import UnsupportedTokenTypeError as AuthlibUnsupportedTokenTypeError
from authlib.oauth2.rfc6749.requests import OAuth2Request
from authlib.oauth2.rfc6750 import BearerTokenValidator, InsufficientScopeError, InvalidTokenError
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oidc.core import UserInfoEndpoint
from authlib.oidc.rpinitiated import EndSessionEndpoint
from flask import Flask, Response, current_app
from flask import request as flask_request
from joserfc.jwk import KeySet, KeySetSerialization
from werkzeug.exceptions import HTTPException

from idp.audit.log import record_event
from idp.core.database import conflict_insert, db
from idp.core.settings import current_settings
from idp.grants import register_grants
from idp.grants.auth_methods import TOKEN_ENDPOINT_AUTH_METHODS, explain_failed_authentication, identify_attempt
from idp.grants.id_token import has_id_token_type
from idp.grants.qr_scan import QrDeviceAuthorization
from idp.keyring import current_keyring
from idp.models import UsedAssertion
from idp.protocol.claims import generate_user_info
from idp.protocol.client_registry import client_registry
from idp.protocol.dpop import DpopProof, accept_request_proof
from idp.protocol.dpop_resource import DpopAccessTokenValidator
from idp.protocol.pushed_requests import PushedAuthorizationEndpoint
from idp.protocol.tokens import (
    AccessToken,
    AccessTokenGenerator,
    TokenHolder,
    digest,
    load_access_token,
    query_any_token,
    save_token,
)


class PrivateKeyJwtAuthentication(JWTBearerClientAssertion):
    """``private_key_jwt`` (OIDC Core 9, RFC 7523 section 2.2) with single-use ``jti``."""

    CLIENT_AUTH_METHOD = "private_key_jwt"
    #: The farthest ``exp`` accepted, in seconds from now (plus the clock-skew leeway): every
    #: ``jti`` is remembered until its ``exp``, so a far-future one would be kept for as long
    #: (RFC 7523 section 3 item 4 lets the server refuse it). An hour is what authlib's client
    #: signs by default; openid-client and pyoidc sign shorter ones.
    MAX_LIFETIME = 3600

    def verify_claims(self, claims) -> None:
        exp = claims.get("exp")
        if isinstance(exp, int | float) and exp > time.time() + self.MAX_LIFETIME + self.leeway:
            raise InvalidClientError(
                description=f"The client assertion must expire at most {self.MAX_LIFETIME} seconds from now.")
        super().verify_claims(claims)

    def get_audiences(self) -> list[str]:
        issuer = current_settings().ISSUER
        # RFC 9126 section 2: the pushed authorization request endpoint is an audience too.
        return [issuer, f"{issuer}/token", f"{issuer}/par"]

    def resolve_client_public_key(self, client) -> KeySet:
        return KeySet.import_key_set(client.jwks or KeySetSerialization(keys=[]))

    def extract_assertion(self, assertion: str):
        try:
            return super().extract_assertion(assertion)
        except RecursionError:
            # authlib parses the payload before any check and catches only ValueError.
            raise InvalidClientError(description="Invalid JWT payload.") from None

    def validate_jti(self, claims: dict, jti: str) -> bool:
        expires = datetime.fromtimestamp(int(claims["exp"]), tz=UTC)
        stmt = (
            conflict_insert(UsedAssertion)
            .values(jti_digest=digest(f"{claims['iss']}:{jti}"), expires_at=expires)
            .on_conflict_do_nothing()
            # RETURNING, not rowcount: SQLAlchemy 2.1 reports -1 for this INSERT on psycopg,
            # which refused every assertion on PostgreSQL.
            .returning(UsedAssertion.jti_digest)
        )
        return db.session.execute(stmt).first() is not None


class UnsupportedTokenTypeError(OAuth2Error):
    """RFC 7009 section 2.2.1, answered 400 as RFC 6749 section 5.2 asks (authlib's says 401)."""

    error = "unsupported_token_type"


class AccessTokenValidator(BearerTokenValidator):
    def authenticate_token(self, token_string: str) -> AccessToken | None:
        return load_access_token(token_string)

    def validate_token(self, token: AccessToken | None, scopes, request) -> None:
        super().validate_token(token, scopes, request)  # refuses a missing token
        if token is not None and token.jkt:
            # RFC 9449 section 7.2: a DPoP-bound token is worthless without its key's proof.
            raise InvalidTokenError(description="This access token is DPoP-bound: send it with the DPoP scheme.")


class Introspection(IntrospectionEndpoint):
    """RFC 7662; any authenticated confidential client may introspect (resource servers).

    Public clients have no credentials, so they cannot authenticate here and get 401
    ``invalid_client`` (RFC 7662 section 2.1 requires authorization, against token scanning).
    """

    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]

    def check_params(self, request, client) -> None:
        # RFC 7662 section 2.1: an unknown hint is ignored and every token type searched.
        if "token" not in request.form:
            raise InvalidRequestError("Missing 'token'.")

    def query_token(self, token_string, token_type_hint):
        return query_any_token(token_string, token_type_hint)

    def check_permission(self, token, client, request) -> bool:
        return not client.is_public

    def introspect_token(self, token) -> dict:
        return token.introspect()


class Revocation(RevocationEndpoint):
    """RFC 7009; public clients revoke with ``none`` (their client_id alone)."""

    CLIENT_AUTH_METHODS = TOKEN_ENDPOINT_AUTH_METHODS

    def check_params(self, request, client) -> None:
        hint = request.form.get("token_type_hint")
        if hint and hint not in self.SUPPORTED_TOKEN_TYPES:
            raise UnsupportedTokenTypeError()
        super().check_params(request, client)

    def query_token(self, token_string, token_type_hint):
        return query_any_token(token_string, token_type_hint)

    def revoke_token(self, token, request) -> None:
        token.revoke()
        record_event("token.revoked", client_id=request.client.client_id)


class UserInfo(UserInfoEndpoint):
    def get_issuer(self) -> str:
        return current_settings().ISSUER

    def generate_user_info(self, user: TokenHolder, scope):
        return generate_user_info(user.person, scope, user.context, subject=user.subject)

    def resolve_private_key(self) -> KeySet:
        return KeySet([current_keyring().active_key().key])


class EndSession(EndSessionEndpoint):
    """RP-initiated logout; the session itself is ended by the view (it owns the cookie)."""

    def validate_request(self, request):
        hint = request.payload.data.get("id_token_hint")
        if hint and not has_id_token_type(hint):
            raise InvalidRequestError("'id_token_hint' is not an ID token.")
        return super().validate_request(request)

    def get_server_jwks(self) -> KeySet:
        return current_keyring().verification_keys()

    def get_algorithms(self) -> list[str]:
        return ["ES256", "RS256", "EdDSA"]

    def resolve_client_from_id_token_claims(self, id_token_claims: dict):
        # Our ID tokens carry ``aud`` as a one-element list; authlib resolves only a string,
        # which left every hinted logout without its post_logout_redirect_uri.
        aud = id_token_claims.get("aud")
        if isinstance(aud, list) and len(aud) == 1:
            aud = aud[0]
        return self.server.query_client(aud) if isinstance(aud, str) else None

    def end_session(self, end_session_request) -> None:
        """Ending happens in the view before this response is created."""


class IdpOAuth2Request(FlaskOAuth2Request):
    """authlib's request at /token and /par, carrying the client's DPoP proof (RFC 9449)."""

    #: Accepted by :meth:`IdpAuthorizationServer.with_dpop_proof` before any grant or endpoint
    #: runs; grants read it as ``self.request.dpop_proof``, ``save_token`` from its request.
    dpop_proof: DpopProof | None = None


class IdpAuthorizationServer(AuthorizationServer):
    #: Issues every token; set by :func:`create_authorization_server`.
    token_generator: AccessTokenGenerator
    #: The endpoints besides /token where a client may send a DPoP proof (RFC 9449 section 10.1).
    DPOP_ENDPOINTS = frozenset({PushedAuthorizationEndpoint.ENDPOINT_NAME})

    def create_oauth2_request(self, request) -> OAuth2Request:
        # A request whose parameters came from a pushed request or a request object arrives
        # already built (idp.protocol.request_objects.authorization_request_with).
        return request if isinstance(request, OAuth2Request) else IdpOAuth2Request(flask_request)

    def with_dpop_proof(self, request, respond: Callable[[OAuth2Request], Response]) -> Response:
        """Accept the request's DPoP proof, if any, onto the OAuth request, then ``respond``.
        RFC 9449 section 5: a bad proof is answered first, before any code or refresh token
        is spent or any pushed request stored."""
        oauth_request = self.create_oauth2_request(request)
        try:
            oauth_request.dpop_proof = accept_request_proof()
        except OAuth2Error as error:
            return self.handle_error_response(oauth_request, error)
        return respond(oauth_request)

    def create_token_response(self, request=None) -> Response:
        return self.with_dpop_proof(request, super().create_token_response)

    def create_endpoint_response(self, name, request=None):
        if name not in self.DPOP_ENDPOINTS:
            return super().create_endpoint_response(name, request)
        return self.with_dpop_proof(request, partial(super().create_endpoint_response, name))

    def generate_token(self, grant_type, client, user=None, scope=None, expires_in=None, include_refresh_token=True,
                       *, dpop_jkt: str | None):
        """authlib's hook, with the DPoP key thumbprint the tokens are bound to, which every
        grant passes from its request (``idp.grants.dpop_bound``): required, so a grant that
        forgot it fails loudly instead of issuing unbound tokens to a client that proved a key."""
        return self.token_generator.bound_to(dpop_jkt).generate(
            grant_type, client, user=user, scope=scope, expires_in=expires_in,
            include_refresh_token=include_refresh_token)

    def validate_requested_scope(self, scope) -> None:
        """Unknown scopes are dropped, not refused (RFC 6749 section 3.3): the client's
        registered scopes filter the request in ``Client.get_allowed_scope``."""

    def authenticate_client(self, request, methods, endpoint="token"):
        try:
            return super().authenticate_client(request, methods, endpoint)
        except ValueError:
            # authlib's Basic parsing fails on "Basic " with no credentials and on non-UTF-8 ones
            # (UnicodeDecodeError is a ValueError): both are bad client credentials, not a 500.
            error = InvalidClientError(status_code=401, description="Malformed client credentials.")
            _audit_client_authentication_failure(request, endpoint, None, error)
            raise error from None
        except InvalidClientError as error:
            # authlib names every method the endpoint accepts, the one just used among them; the
            # client needs to hear which one it is registered for (or that its secret is wrong).
            client_id, used = identify_attempt(request)
            client = self.query_client(client_id) if client_id else None
            if client is not None:
                registered = client.token_endpoint_auth_method
                explanation = explain_failed_authentication(registered, used, list(methods))
                if explanation is None and used in ("client_secret_basic", "client_secret_post"):
                    explanation = "The client secret is wrong."
                error.description = explanation or error.description
            _audit_client_authentication_failure(request, endpoint, client, error)
            raise

    def handle_error_response(self, request, error):
        # Every refusal of the token endpoint passes here (authlib's grants and our early checks).
        if flask_request.endpoint == "protocol.token":
            client = getattr(request, "client", None) if request is not None else None
            record_event(
                "token.refused", "failure",
                client_id=client.client_id if client else _claimed_client_id(request),
                grant_type=_form_value("grant_type"),
                error=error.error,
                reason=(error.description or "")[:200],
            )
        return super().handle_error_response(request, error)


def _readable_form() -> Mapping[str, str]:
    """The request's form, or nothing when its body cannot be read (a refusal of a body too
    large is audited as well, without what it sent)."""
    try:
        return flask_request.form
    except HTTPException:
        return {}


def _form_value(name: str) -> str | None:
    value = _readable_form().get(name)
    return value[:64] if value else None


def _claimed_client_id(request: OAuth2Request | None) -> str | None:
    """The client_id an unauthenticated request names, for the audit log (not verified)."""
    try:
        client_id = identify_attempt(request)[0] if request is not None else _readable_form().get("client_id")
    except ValueError:  # malformed Basic credentials
        return None
    return client_id[:64] if isinstance(client_id, str) else None


def _audit_client_authentication_failure(request, endpoint: str, client, error: OAuth2Error) -> None:
    """``client.authentication`` failure: which client, by which method, and why (GB/T 22239
    asks every failed authentication to be audited, machines' as well as people's)."""
    try:
        claimed, method = identify_attempt(request)
    except ValueError:  # malformed Basic credentials
        claimed, method = None, "client_secret_basic"
    record_event(
        "client.authentication", "failure",
        client_id=client.client_id if client else (claimed[:64] if isinstance(claimed, str) else None),
        endpoint=endpoint,
        method=method,
        known_client=client is not None,
        reason=(error.description or error.error or "")[:200],
    )


class BearerChallengeError(OAuth2Error):
    """RFC 6750 section 3.1: a request without credentials (none, or a scheme other than Bearer
    and DPoP) gets a bare ``Bearer`` challenge and no error code, as the client may not have
    known that authentication was needed (authlib would answer ``missing_authorization``)."""

    status_code = 401

    def get_body(self):
        return []

    def get_headers(self):
        return [*super().get_headers(), ("WWW-Authenticate", "Bearer")]


def _form_access_token() -> str | None:
    """RFC 6750 section 2.2: the token as the ``access_token`` form parameter of a POST; OIDC
    Core 5.3.1 lets relying parties send the userinfo request so (pyoidc offers it)."""
    if flask_request.method != "POST" or flask_request.mimetype != "application/x-www-form-urlencoded":
        return None
    tokens = flask_request.form.getlist("access_token")
    if len(tokens) > 1:
        raise InvalidRequestError("'access_token' was sent more than once.")
    return tokens[0] if tokens else None


class ScopeChallengeError(InsufficientScopeError):
    """RFC 6750 section 3: a token that lacks the scope gets a challenge too, naming the scope
    (authlib's ``InsufficientScopeError`` carries none); in the scheme the token came with."""

    def __init__(self, scheme: str, scopes: list[str]):
        super().__init__()
        self.scheme = scheme
        self.scopes = scopes

    def get_headers(self):
        challenge = f'{self.scheme} error="{self.error}", scope="{" ".join(self.scopes)}"'
        return [*super().get_headers(), ("WWW-Authenticate", challenge)]


class BearerResourceProtector(ResourceProtector):
    def parse_request_authorization(self, request):
        body_token = _form_access_token()
        header = request.headers.get("Authorization", "")
        if body_token is not None:
            if header:
                # RFC 6750 section 2: one method per request.
                raise InvalidRequestError("The access token was sent both in the header and in the body.")
            return self.get_token_validator("bearer"), body_token
        if header.strip().lower() in self._token_validators:
            # A known scheme with no token is malformed (RFC 6750 section 3.1 invalid_request, 400).
            raise InvalidRequestError(f"The {header.strip()} authorization header has no token.")
        try:
            return super().parse_request_authorization(request)
        except (MissingAuthorizationError, AuthlibUnsupportedTokenTypeError):
            raise BearerChallengeError() from None

    def validate_request(self, scopes, request, **kwargs):
        try:
            return super().validate_request(scopes, request, **kwargs)
        except InsufficientScopeError:
            scheme = "DPoP" if request.headers.get("Authorization", "")[:5].lower() == "dpop " else "Bearer"
            raise ScopeChallengeError(scheme, scopes or []) from None


resource_protector = BearerResourceProtector()
resource_protector.register_token_validator(AccessTokenValidator())
resource_protector.register_token_validator(DpopAccessTokenValidator())


def create_authorization_server(app: Flask) -> AuthorizationServer:
    settings = current_settings(app)
    server = IdpAuthorizationServer()
    server.init_app(app, query_client=client_registry(app).query_client, save_token=save_token)
    server.token_generator = AccessTokenGenerator(settings.ISSUER, settings.ACCESS_TOKEN_TTL)
    server.register_client_auth_method("private_key_jwt", PrivateKeyJwtAuthentication())
    register_grants(server)
    server.register_endpoint(Introspection())
    server.register_endpoint(Revocation())
    server.register_endpoint(UserInfo(resource_protector=resource_protector))
    server.register_endpoint(EndSession())
    server.register_endpoint(PushedAuthorizationEndpoint())
    server.register_endpoint(QrDeviceAuthorization)
    return server


SERVER_EXTENSION = "idp.server"


def authorization_server() -> IdpAuthorizationServer:
    """The current app's authorization server."""
    return current_app.extensions[SERVER_EXTENSION]
