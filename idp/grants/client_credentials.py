"""Client credentials for service clients (RFC 6749 section 4.4): confidential clients only."""

from authlib.oauth2.rfc6749 import InvalidScopeError, grants, scope_to_list

from idp.grants.auth_methods import CONFIDENTIAL_AUTH_METHODS
from idp.grants.dpop_bound import DpopBoundGrant
from idp.protocol.claims import PERSON_SCOPES
from idp.protocol.dpop import check_dpop_binding


class ClientCredentialsGrant(DpopBoundGrant, grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CONFIDENTIAL_AUTH_METHODS

    def validate_token_request(self) -> None:
        super().validate_token_request()
        if PERSON_SCOPES.intersection(scope_to_list(self.request.payload.scope) or []):
            # Such a token would be an OpenID token with no person behind it (userinfo, claims).
            raise InvalidScopeError("openid, profile and phone describe a person; "
                                    "a client_credentials token speaks for the client alone.")
        # A client registered for DPoP gets only sender-constrained tokens (RFC 9449 section 5.2).
        check_dpop_binding(self.request.dpop_proof, self.request.client, None)
