"""The authorization server wiring: authlib's server, its endpoints, and client authentication."""

from __future__ import annotations

from datetime import datetime, timezone

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oidc.core import UserInfoEndpoint
from authlib.oidc.rpinitiated import EndSessionEndpoint
from flask import Flask, current_app
from joserfc.jwk import KeySet
from sqlalchemy.dialects import postgresql, sqlite

from idp.audit import record_event
from idp.claims import generate_user_info
from idp.database import db
from idp.grants import register_grants
from idp.grants.auth_methods import TOKEN_ENDPOINT_AUTH_METHODS
from idp.models import UsedAssertion
from idp.tokens import AccessToken, create_token_generator, digest, load_access_token, query_any_token, save_token


class PrivateKeyJwtAuthentication(JWTBearerClientAssertion):
    """``private_key_jwt`` (OIDC Core 9, RFC 7523 section 2.2) with single-use ``jti``."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def get_audiences(self) -> list[str]:
        issuer = current_app.config["IDP"].ISSUER
        return [issuer, f"{issuer}/token"]

    def resolve_client_public_key(self, client) -> KeySet:
        return KeySet.import_key_set(client.jwks or {"keys": []})

    def validate_jti(self, claims: dict, jti: str) -> bool:
        insert = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
        expires = datetime.fromtimestamp(int(claims["exp"]), tz=timezone.utc)
        stmt = (
            insert(UsedAssertion)
            .values(jti_digest=digest(f"{claims['iss']}:{jti}"), expires_at=expires)
            .on_conflict_do_nothing()
        )
        return db.session.execute(stmt).rowcount == 1


class AccessTokenValidator(BearerTokenValidator):
    def authenticate_token(self, token_string: str) -> AccessToken | None:
        return load_access_token(token_string)


class Introspection(IntrospectionEndpoint):
    """RFC 7662; any authenticated confidential client may introspect (resource servers)."""

    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]

    def query_token(self, token_string, token_type_hint):
        return query_any_token(token_string, token_type_hint)

    def check_permission(self, token, client, request) -> bool:
        return not client.is_public

    def introspect_token(self, token) -> dict:
        return token.introspect()


class Revocation(RevocationEndpoint):
    """RFC 7009; public clients revoke with ``none`` (their client_id alone)."""

    CLIENT_AUTH_METHODS = TOKEN_ENDPOINT_AUTH_METHODS

    def query_token(self, token_string, token_type_hint):
        return query_any_token(token_string, token_type_hint)

    def revoke_token(self, token, request) -> None:
        token.revoke()
        record_event("token.revoked", client_id=request.client.client_id)


class UserInfo(UserInfoEndpoint):
    def get_issuer(self) -> str:
        return current_app.config["IDP"].ISSUER

    def generate_user_info(self, user, scope):
        return generate_user_info(user, scope)

    def resolve_private_key(self) -> KeySet:
        return KeySet([current_app.extensions["idp.keyring"].active_key().key])


class EndSession(EndSessionEndpoint):
    """RP-initiated logout; the session itself is ended by the view (it owns the cookie)."""

    def get_server_jwks(self) -> KeySet:
        return current_app.extensions["idp.keyring"].verification_keys()

    def get_algorithms(self) -> list[str]:
        return ["ES256", "RS256", "EdDSA"]

    def end_session(self, end_session_request) -> None:
        """Ending happens in the view before this response is created."""


class IdpAuthorizationServer(AuthorizationServer):
    def validate_requested_scope(self, scope) -> None:
        """Unknown scopes are dropped, not refused (RFC 6749 section 3.3): the client's
        registered scopes filter the request in ``Client.get_allowed_scope``."""


resource_protector = ResourceProtector()
resource_protector.register_token_validator(AccessTokenValidator())


def create_authorization_server(app: Flask) -> AuthorizationServer:
    settings = app.config["IDP"]
    server = IdpAuthorizationServer()
    server.init_app(app, query_client=app.extensions["idp.clients"].query_client, save_token=save_token)
    server.register_token_generator("default", create_token_generator(settings.ISSUER, settings.ACCESS_TOKEN_TTL))
    server.register_client_auth_method("private_key_jwt", PrivateKeyJwtAuthentication())
    register_grants(server)
    server.register_endpoint(Introspection())
    server.register_endpoint(Revocation())
    server.register_endpoint(UserInfo(resource_protector=resource_protector))
    server.register_endpoint(EndSession())
    return server
