"""A relying party's DPoP key, making proofs as RFC 9449 section 4.2 describes, and the
nonce round trip (section 8) a DPoP client library performs."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time

from joserfc import jwt
from joserfc.jwk import ECKey, OctKey

ISSUER = "http://idp.test"  # conftest's ISSUER: every htu names it


def ath_of(access_token: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(access_token.encode()).digest()).rstrip(b"=").decode()


class DpopKey:
    def __init__(self) -> None:
        self.key = ECKey.generate_key("P-256")
        self.nonce: str | None = None

    @property
    def jkt(self) -> str:
        """RFC 7638 thumbprint (joserfc): what ``cnf.jkt`` and ``dpop_jkt`` carry."""
        return self.key.thumbprint()

    def proof(self, method: str, path: str, *, nonce: str | None = "current", access_token: str | None = None,
              iat: int | None = None, jti: str | None = None, typ: str = "dpop+jwt", url: str | None = None,
              jwk: dict | None = None) -> str:
        claims = {"jti": jti or secrets.token_urlsafe(16), "htm": method, "htu": url or ISSUER + path,
                  "iat": int(time.time()) if iat is None else iat}
        nonce = self.nonce if nonce == "current" else nonce
        if nonce:
            claims["nonce"] = nonce
        if access_token:
            claims["ath"] = ath_of(access_token)
        header = {"typ": typ, "alg": "ES256", "jwk": jwk or self.key.as_dict(private=False)}
        return jwt.encode(header, claims, self.key, algorithms=["ES256"])

    def post(self, client, path: str, data: dict, headers: dict | None = None):
        """POST with a proof; when the server asks for its nonce, retry once with it."""
        response = client.post(path, data=data, headers={**(headers or {}), "DPoP": self.proof("POST", path)})
        self.nonce = response.headers.get("DPoP-Nonce", self.nonce)
        if response.status_code == 400 and (response.get_json() or {}).get("error") == "use_dpop_nonce":
            response = client.post(path, data=data, headers={**(headers or {}), "DPoP": self.proof("POST", path)})
            self.nonce = response.headers.get("DPoP-Nonce", self.nonce)
        return response

    def get_resource(self, client, path: str, access_token: str, **proof_options):
        """GET a protected resource with ``Authorization: DPoP`` (section 7.1)."""
        proof = self.proof("GET", path, access_token=access_token, **proof_options)
        response = client.get(path, headers={"Authorization": f"DPoP {access_token}", "DPoP": proof})
        self.nonce = response.headers.get("DPoP-Nonce", self.nonce)
        return response


def symmetric_proof(path: str, nonce: str | None) -> str:
    """A proof MACed with a shared secret: section 4.3 refuses symmetric algorithms."""
    key = OctKey.generate_key(256)
    claims = {"jti": secrets.token_urlsafe(8), "htm": "POST", "htu": ISSUER + path, "iat": int(time.time()),
              "nonce": nonce}
    return jwt.encode({"typ": "dpop+jwt", "alg": "HS256", "jwk": key.as_dict()}, claims, key, algorithms=["HS256"])
