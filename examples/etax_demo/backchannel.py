"""Validating a logout token (OpenID Connect Back-Channel Logout 1.0, section 2.6)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
#: Seconds of clock skew tolerated on ``iat``/``exp``.
LEEWAY = 60
#: How long a logout token's ``jti`` is remembered against replay.
JTI_MEMORY_SECONDS = 600


class LogoutTokenError(ValueError):
    """The logout token fails a section 2.6 check; the message names which."""


class SeenTokenIds:
    """``jti`` values already accepted (section 2.6 step 10: MAY refuse a replayed token)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, float] = {}

    def check_new(self, jti: str) -> bool:
        now = time.time()
        with self._lock:
            self._seen = {k: t for k, t in self._seen.items() if t > now}
            if jti in self._seen:
                return False
            self._seen[jti] = now + JTI_MEMORY_SECONDS
            return True


def verify_logout_token(token: str, *, issuer: str, client_id: str, algorithms: list[str],
                        fetch_jwks: Callable[[bool], dict], seen: SeenTokenIds) -> dict:
    """The logout token's claims once every check of section 2.6 passes.

    ``fetch_jwks(force)`` gives the provider's JWKS; ``force=True`` re-reads it when the
    token names a key we have not seen (a key rotated in since discovery was read).
    """
    try:
        try:
            decoded = jwt.decode(token, KeySet.import_key_set(fetch_jwks(False)), algorithms=algorithms)
        except InvalidKeyIdError:
            decoded = jwt.decode(token, KeySet.import_key_set(fetch_jwks(True)), algorithms=algorithms)
        jwt.JWTClaimsRegistry(
            leeway=LEEWAY, iss={"essential": True, "value": issuer}, aud={"essential": True, "value": client_id},
            iat={"essential": True}, jti={"essential": True},
        ).validate(decoded.claims)
    except (JoseError, ValueError) as error:
        raise LogoutTokenError(f"logout token rejected: {error}") from None
    claims = decoded.claims
    if decoded.header.get("typ") not in (None, "logout+jwt"):
        raise LogoutTokenError("logout token has the wrong typ")
    if not isinstance(claims.get("events"), dict) or not isinstance(claims["events"].get(LOGOUT_EVENT), dict):
        raise LogoutTokenError("logout token lacks the back-channel logout event")
    if "nonce" in claims:
        raise LogoutTokenError("a logout token must not carry a nonce")
    if not claims.get("sid") and not claims.get("sub"):
        raise LogoutTokenError("a logout token names a sid or a sub")
    if not seen.check_new(claims["jti"]):
        raise LogoutTokenError("logout token replayed")
    return claims
