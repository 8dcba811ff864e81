"""Every grant binds what it issues to the key of the request's DPoP proof (RFC 9449 sections 5, 6.1).

The proof travels on authlib's OAuth request (``self.request.dpop_proof``), accepted by
``idp.protocol.server.IdpAuthorizationServer.with_dpop_proof`` before any grant runs.  authlib
calls the token generator without the request, so this mixin passes the key thumbprint to the
server's ``generate_token`` explicitly; ``save_token`` binds the refresh token from the request,
and grants check a credential's binding with ``idp.protocol.dpop.check_dpop_binding``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from idp.protocol.server import IdpAuthorizationServer, IdpOAuth2Request


class DpopBoundGrant:
    """Mixed into every grant, before authlib's grant class."""

    # Set by authlib's grant class.
    GRANT_TYPE: str | None
    request: IdpOAuth2Request
    server: IdpAuthorizationServer

    def generate_token(self, user=None, scope=None, grant_type=None, expires_in=None, include_refresh_token=True):
        """authlib's ``BaseGrant.generate_token`` with the request's DPoP key passed along."""
        proof = self.request.dpop_proof
        return self.server.generate_token(
            grant_type=grant_type or self.GRANT_TYPE, client=self.request.client, user=user, scope=scope,
            expires_in=expires_in, include_refresh_token=include_refresh_token,
            dpop_jkt=proof.jkt if proof else None)
