"""Client authentication methods every token-endpoint grant accepts (docs/architecture.md §4.3), and
what a client is told when its authentication fails."""

from __future__ import annotations

import json

from authlib.oauth2.rfc6749.util import extract_basic_authorization
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from joserfc import jws
from joserfc.errors import JoseError

TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
CONFIDENTIAL_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]


def _assertion_subject(assertion: str) -> str | None:
    """The unverified ``sub`` of a client assertion: only to name the client in an error."""
    try:
        claims = json.loads(jws.extract_compact(assertion.encode()).payload)
    except (JoseError, ValueError, RecursionError):
        return None
    subject = claims.get("sub") if isinstance(claims, dict) else None
    return subject if isinstance(subject, str) else None


def identify_attempt(request) -> tuple[str | None, str]:
    """The client_id a request names and the method it used (RFC 6749 section 2.3, OIDC Core 9)."""
    basic_id, _ = extract_basic_authorization(request.headers)
    if basic_id:
        return basic_id, "client_secret_basic"
    form = request.form
    if form.get("client_assertion_type") == JWTBearerClientAssertion.CLIENT_ASSERTION_TYPE:
        return form.get("client_id") or _assertion_subject(form.get("client_assertion") or ""), "private_key_jwt"
    if form.get("client_secret"):
        return form.get("client_id"), "client_secret_post"
    return request.payload.client_id, "none"


def explain_failed_authentication(registered: str, used: str, accepted: list[str]) -> str | None:
    """Why a known client failed to authenticate, in words that say what to change; None when it
    used its registered method (the credentials were wrong, and the method's own error says how)."""
    if registered not in accepted:
        return f"This endpoint does not accept {registered} clients; it accepts {', '.join(accepted)}."
    if used != registered:
        sent = "no client credentials" if used == "none" else used
        return f"This client is registered for {registered}; the request used {sent}."
    return None
