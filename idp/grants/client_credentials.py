"""Client credentials for service clients (RFC 6749 section 4.4): confidential clients only."""

from authlib.oauth2.rfc6749 import grants

from idp.grants.auth_methods import CONFIDENTIAL_AUTH_METHODS


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CONFIDENTIAL_AUTH_METHODS
