"""PKCE with S256 required of every client, at the authorization endpoint (RFC 7636, RFC 9700).

authlib's ``CodeChallenge`` only requires PKCE of public clients at the token endpoint and
compares with ``==``; this extension demands S256 up front and compares in constant time.
"""

from __future__ import annotations

import hmac

from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc7636 import CodeChallenge, create_s256_code_challenge


def compare_s256_code_challenge(code_verifier: str, code_challenge: str) -> bool:
    return hmac.compare_digest(create_s256_code_challenge(code_verifier), code_challenge)


class RequiredS256CodeChallenge(CodeChallenge):
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    CODE_CHALLENGE_METHODS = {"S256": compare_s256_code_challenge}

    def __init__(self) -> None:
        super().__init__(required=True)

    def validate_code_challenge(self, grant, redirect_uri) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send 'code_challenge' with method S256.")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("'code_challenge_method' must be S256.")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant, result) -> None:
        if not grant.request.form.get("code_verifier"):
            raise InvalidRequestError("Missing 'code_verifier'.")
        super().validate_code_verifier(grant, result)
