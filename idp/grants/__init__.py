"""Every grant the token endpoint accepts, registered in one place (docs/architecture.md §4.2)."""

from __future__ import annotations

from authlib.oauth2.rfc6749 import AuthorizationServer

from idp.grants.authorization_code import AuthorizationCodeGrant
from idp.grants.client_credentials import ClientCredentialsGrant
from idp.grants.id_token import IdTokenExtension
from idp.grants.pkce import RequiredS256CodeChallenge
from idp.grants.qr_scan import QrScanGrant
from idp.grants.refresh_token import RefreshTokenGrant
from idp.grants.token_exchange import TokenExchangeGrant


def register_grants(server: AuthorizationServer) -> None:
    """The single list of grants and their extensions."""
    server.register_grant(
        AuthorizationCodeGrant, extensions=[RequiredS256CodeChallenge(), IdTokenExtension()]
    )
    server.register_grant(RefreshTokenGrant, extensions=[IdTokenExtension()])
    server.register_grant(ClientCredentialsGrant)
    server.register_grant(TokenExchangeGrant, extensions=[IdTokenExtension()])
    server.register_grant(QrScanGrant, extensions=[IdTokenExtension()])
