"""Client credentials for service clients (RFC 6749 section 4.4): confidential clients only."""

from authlib.oauth2.rfc6749 import grants

from idp.dpop import check_dpop_binding
from idp.grants.auth_methods import CONFIDENTIAL_AUTH_METHODS


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CONFIDENTIAL_AUTH_METHODS

    def validate_token_request(self) -> None:
        super().validate_token_request()
        # A client registered for DPoP gets only sender-constrained tokens (RFC 9449 section 5.2).
        check_dpop_binding(self.request.client, None)
