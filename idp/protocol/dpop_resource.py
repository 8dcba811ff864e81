"""DPoP at the provider's own resource (userinfo): RFC 9449 section 7.

``Authorization: DPoP <access token>`` plus a ``DPoP`` proof for this request, signed by the
key the token is bound to (``cnf.jkt``) and carrying the token's hash in ``ath``.  Errors
are 401 with a ``DPoP`` challenge; a bound token sent as a Bearer token is refused by the
Bearer validator (section 7.2).
"""

from __future__ import annotations

import hmac

from authlib.oauth2.rfc6749.resource_protector import TokenValidator
from authlib.oauth2.rfc6750 import InsufficientScopeError
from flask import request

from idp.protocol.dpop import DpopError, InvalidDpopProofError, endpoint_url, request_proof_header, validate_dpop_proof
from idp.protocol.tokens import AccessToken, load_access_token


class DpopInvalidTokenError(DpopError):
    error = "invalid_token"


class DpopAccessTokenValidator(TokenValidator):
    TOKEN_TYPE = "dpop"

    def authenticate_token(self, token_string: str) -> AccessToken | None:
        header = request_proof_header(at_resource=True)
        if header is None:
            raise InvalidDpopProofError("A DPoP access token needs a DPoP proof.", at_resource=True)
        proof = validate_dpop_proof(header, method=request.method, url=endpoint_url(), access_token=token_string,
                                    at_resource=True)
        token = load_access_token(token_string)
        if token is not None and not (token.jkt and hmac.compare_digest(token.jkt.encode(), proof.jkt.encode())):
            raise DpopInvalidTokenError("The access token is not bound to the DPoP proof's key.", at_resource=True)
        return token

    def validate_token(self, token: AccessToken | None, scopes, request) -> None:
        if token is None or token.is_expired() or token.is_revoked():
            raise DpopInvalidTokenError("The access token is expired, revoked or invalid.", at_resource=True)
        if self.scope_insufficient(token.get_scope(), scopes):
            raise InsufficientScopeError()
