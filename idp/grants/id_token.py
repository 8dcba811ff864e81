"""ID tokens for the code and refresh grants (OpenID Connect Core 3.1.3.6, 12.2).

The login context (``auth_time``, ``acr``, ``amr``, ``sid``) comes from the grant row, so a
refreshed ID token says exactly what the original login said.
"""

from __future__ import annotations

import time

from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oidc.core import grants as oidc_grants
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import bindparam, exists, select

from idp.core.database import db
from idp.core.settings import current_settings
from idp.keyring import ID_TOKEN_DEFAULT_ALGORITHM, current_keyring
from idp.models import AuthorizationCode
from idp.protocol.claims import business_claims, generate_user_info
from idp.protocol.tokens import TokenSubject

MAX_NONCE_LENGTH = 255


def has_id_token_type(token: str) -> bool:
    """Whether a JWT is typed as our ID tokens are (``JWT``).  Access tokens (``at+jwt``) and
    logout tokens (``logout+jwt``) are signed with the same keys: a resource server or relying
    party holding one must not pass it off as an ``id_token_hint`` (and log the person out)."""
    try:
        return jws.extract_compact(token.encode()).headers().get("typ") == "JWT"
    except JoseError:
        return False


#: Built once: every authorization request with a nonce runs it, and building it per call cost
#: SQLAlchemy more CPU than running it (a prebuilt statement's cache key is memoized).
_NONCE_USED = select(exists().where(
    AuthorizationCode.client_id == bindparam("client_id"), AuthorizationCode.nonce == bindparam("nonce")))


class IdTokenExtension(oidc_grants.OpenIDCode):
    def __init__(self) -> None:
        super().__init__(require_nonce=False)

    def validate_openid_authorization_request(self, grant, redirect_uri) -> None:
        nonce = grant.request.payload.data.get("nonce")
        # The code row keeps the nonce in 255 characters; PostgreSQL refuses NUL in text.
        if nonce and (len(nonce) > MAX_NONCE_LENGTH or "\x00" in nonce):
            raise InvalidRequestError(f"'nonce' must be at most {MAX_NONCE_LENGTH} characters.")
        super().validate_openid_authorization_request(grant, redirect_uri)

    def exists_nonce(self, nonce: str, request) -> bool:
        return db.session.execute(_NONCE_USED, {"client_id": request.payload.client_id, "nonce": nonce}).scalar_one()

    def resolve_client_private_key(self, client) -> KeySet:
        # A one-key set makes joserfc put the active key's kid in the header.
        alg = self.get_client_algorithm(client)
        return KeySet([current_keyring().active_key(alg).key])

    def get_client_algorithm(self, client) -> str:
        """The client's registered ``id_token_signed_response_alg`` (RS256 unless it chose ES256/EdDSA)."""
        return client.id_token_signed_response_alg or ID_TOKEN_DEFAULT_ALGORITHM

    def get_client_claims(self, client) -> dict:
        settings = current_settings()
        return {
            "iss": settings.ISSUER,
            "aud": [client.get_client_id()],
            "exp": int(time.time()) + settings.ID_TOKEN_TTL,
        }

    def get_compatible_claims(self, request) -> dict:
        claims = super().get_compatible_claims(request)
        subject: TokenSubject = request.user
        claims.update(
            auth_time=subject.grant.auth_time,
            acr=subject.grant.acr,
            amr=list(subject.grant.amr),
            sid=subject.grant.login_session_id,
        )
        return claims

    def generate_user_info(self, user: TokenSubject, scope: str) -> dict:
        grant = user.grant
        return generate_user_info(user.person, scope, business_claims(grant.business, grant.entity, grant.act),
                                  subject=user.get_user_id())

    def __call__(self, grant) -> None:
        if grant.GRANT_TYPE == "authorization_code":
            super().__call__(grant)
        else:
            grant.register_hook("after_create_token_response", self.process_token)
