"""DPoP (RFC 9449): proofs of possession that bind tokens to a client's key.

A proof is a JWT the client signs for each HTTP request with the key in its ``jwk`` header.
:func:`validate_dpop_proof` checks it as section 4.3 lists (type, algorithm, signature, public
key, ``htm``, ``htu``, ``iat`` window, server nonce, single-use ``jti``, and ``ath`` at
resources).  Nonces (section 8) are stateless: an HMAC of the current time window, so every
worker accepts every other worker's nonce without shared state.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from authlib.oauth2 import OAuth2Error
from flask import request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, JWKRegistry, OKPKey, RSAKey

from idp.core.database import conflict_insert, db
from idp.core.settings import current_settings
from idp.models import SeenDpopProof

#: Asymmetric algorithms a proof may use (section 4.2: never "none" or a MAC).
DPOP_ALGORITHMS = ["ES256", "RS256", "PS256", "EdDSA"]
#: Seconds a proof's ``iat`` may lie ahead of our clock.
CLOCK_SKEW = 5
NONCE_HEADER = "DPoP-Nonce"


class DpopError(OAuth2Error):
    """A DPoP error; at a resource it is a 401 with a ``DPoP`` challenge (section 7.1)."""

    def __init__(self, description: str | None = None, *, at_resource: bool = False):
        super().__init__(description=description, status_code=401 if at_resource else 400)
        self.at_resource = at_resource

    def get_headers(self):
        headers = list(super().get_headers())
        if self.at_resource:
            challenge = f'DPoP error="{self.error}", algs="{" ".join(DPOP_ALGORITHMS)}"'
            if self.description:
                challenge += f', error_description="{self.description}"'
            headers.append(("WWW-Authenticate", challenge))
        return headers


class InvalidDpopProofError(DpopError):
    error = "invalid_dpop_proof"


class UseDpopNonceError(DpopError):
    """Section 8: the proof lacks the server's current nonce; the response carries one."""

    error = "use_dpop_nonce"

    def get_headers(self):
        return [*super().get_headers(), (NONCE_HEADER, current_nonce())]


@dataclass(frozen=True)
class DpopProof:
    #: RFC 7638 thumbprint of the proof key: what tokens are bound to (``cnf.jkt``).
    jkt: str
    jti: str
    iat: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def access_token_hash(access_token: str) -> str:
    """``ath`` (section 4.2): base64url of the SHA-256 of the access token."""
    return _b64(hashlib.sha256(access_token.encode()).digest())


def _nonce_for(window: int) -> str:
    key = current_settings().SECRET_KEY.encode()
    mac = hmac.new(key, f"dpop-nonce:{window}".encode(), hashlib.sha256).digest()[:18]
    return f"{window}.{_b64(mac)}"


def _window() -> int:
    return int(time.time()) // current_settings().DPOP_NONCE_WINDOW


def current_nonce() -> str:
    return _nonce_for(_window())


def check_nonce(nonce: object) -> bool:
    """A nonce of this window or the previous one (so one handed out just before a window
    ends still works)."""
    if not isinstance(nonce, str) or "." not in nonce or len(nonce) > 64:
        return False
    window = nonce.split(".", 1)[0]
    # isascii: isdigit() also takes "²", which int() refuses.
    if not (window.isascii() and window.isdigit()) or int(window) not in (_window(), _window() - 1):
        return False
    return hmac.compare_digest(nonce.encode(), _nonce_for(int(window)).encode())


def _proof_key(obj) -> ECKey | RSAKey | OKPKey:
    header = obj.headers()
    if header.get("typ") != "dpop+jwt":
        raise InvalidDpopProofError("The DPoP proof must have typ 'dpop+jwt'.")
    jwk = header.get("jwk")
    if not isinstance(jwk, dict):
        raise InvalidDpopProofError("The DPoP proof must carry its public key in 'jwk'.")
    key = JWKRegistry.import_key(jwk)
    if key.is_private or not isinstance(key, ECKey | RSAKey | OKPKey):
        raise InvalidDpopProofError("The DPoP 'jwk' must be a public asymmetric key.")
    return key


def _same_url(htu: object, url: str) -> bool:
    """Section 4.3 point 9: the request URI without query and fragment; scheme and host compare
    case-insensitively."""
    if not isinstance(htu, str):
        return False
    base = htu.split("#", 1)[0].split("?", 1)[0]
    scheme, sep, rest = base.partition("://")
    if not sep:
        return False
    host, slash, path = rest.partition("/")
    expected_scheme, _, expected_rest = url.partition("://")
    expected_host, _, expected_path = expected_rest.partition("/")
    return (scheme.lower(), host.lower(), slash + path) == (expected_scheme.lower(), expected_host.lower(),
                                                           "/" + expected_path)


def _remember_jti(proof: DpopProof) -> bool:
    """Record the proof as used; False when it was used before (section 11.1, replay)."""
    settings = current_settings()
    expires = datetime.fromtimestamp(proof.iat + settings.DPOP_PROOF_MAX_AGE + CLOCK_SKEW, tz=UTC)
    stmt = (
        conflict_insert(SeenDpopProof)
        .values(jti_digest=hashlib.sha256(f"{proof.jkt}:{proof.jti}".encode()).hexdigest(), expires_at=expires)
        .on_conflict_do_nothing()
        .returning(SeenDpopProof.jti_digest)
    )
    return db.session.execute(stmt).first() is not None


def validate_dpop_proof(value: str, *, method: str, url: str, access_token: str | None = None,
                        at_resource: bool = False) -> DpopProof:
    """Check one DPoP proof for ``method`` ``url`` (RFC 9449 section 4.3); at a resource,
    ``access_token`` is the token it must be bound to through ``ath``."""
    settings = current_settings()

    def invalid(description: str) -> InvalidDpopProofError:
        return InvalidDpopProofError(description, at_resource=at_resource)

    if not isinstance(value, str) or len(value) > 8192:
        raise invalid("The DPoP proof is malformed.")
    resolved: list[ECKey | RSAKey | OKPKey] = []

    def proof_key(obj) -> ECKey | RSAKey | OKPKey:
        resolved.append(_proof_key(obj))
        return resolved[-1]

    try:
        token = jwt.decode(value, proof_key, algorithms=DPOP_ALGORITHMS)
    except InvalidDpopProofError as error:
        raise invalid(error.description) from None
    except (JoseError, ValueError, TypeError, KeyError):
        raise invalid("The DPoP proof is not a valid signed JWT with an allowed algorithm.") from None
    claims = token.claims
    jti, iat = claims.get("jti"), claims.get("iat")
    if not isinstance(jti, str) or not jti or len(jti) > 256:
        raise invalid("The DPoP proof needs a 'jti'.")
    if claims.get("htm") != method:
        raise invalid("The DPoP proof's 'htm' is not this request's method.")
    if not _same_url(claims.get("htu"), url):
        raise invalid("The DPoP proof's 'htu' is not this request's URL.")
    now = int(time.time())
    if (not isinstance(iat, int) or isinstance(iat, bool)
            or not now - settings.DPOP_PROOF_MAX_AGE <= iat <= now + CLOCK_SKEW):
        raise invalid("The DPoP proof's 'iat' is outside the accepted window.")
    if access_token is not None and not hmac.compare_digest(
            str(claims.get("ath", "")).encode(), access_token_hash(access_token).encode()):
        raise invalid("The DPoP proof's 'ath' does not match the access token.")
    if settings.DPOP_REQUIRE_NONCE and not check_nonce(claims.get("nonce")):
        raise UseDpopNonceError("Use the DPoP nonce the server provided.", at_resource=at_resource)
    proof = DpopProof(jkt=resolved[-1].thumbprint(), jti=jti, iat=iat)
    if not _remember_jti(proof):
        raise invalid("The DPoP proof was already used.")
    return proof


def request_proof_header(*, at_resource: bool = False) -> str | None:
    """The request's single ``DPoP`` header, or None (section 4.3 point 1: never two)."""
    values = request.headers.getlist("DPoP")
    # Servers fold repeated headers into one comma-separated value; a compact JWS has no comma.
    if len(values) > 1 or (values and "," in values[0]):
        raise InvalidDpopProofError("Send exactly one DPoP header.", at_resource=at_resource)
    return values[0] if values else None


def endpoint_url() -> str:
    """This endpoint's public URL, as the issuer names it (what a client puts in ``htu``)."""
    return current_settings().ISSUER + request.path


def accept_request_proof() -> DpopProof | None:
    """Validate this request's DPoP proof, if it has one (token and PAR endpoints, where the
    client presents no access token). The caller keeps it on authlib's OAuth request
    (``idp.protocol.server.IdpOAuth2Request.dpop_proof``), where grants and ``save_token`` read it."""
    value = request_proof_header()
    return validate_dpop_proof(value, method=request.method, url=endpoint_url()) if value is not None else None


def check_dpop_binding(proof: DpopProof | None, client, bound_jkt: str | None) -> str | None:
    """The key thumbprint new tokens get bound to; refuses a request without a proof when the
    client registered ``dpop_bound_access_tokens`` or the presented credential is bound, and a
    proof by another key than the credential's (sections 5 and 10)."""
    if proof is None:
        if bound_jkt or getattr(client, "dpop_bound_access_tokens", False):
            raise InvalidDpopProofError("A DPoP proof is required.")
        return None
    if bound_jkt and not hmac.compare_digest(bound_jkt.encode(), proof.jkt.encode()):
        raise InvalidDpopProofError("The DPoP proof is not signed by the key this credential is bound to.")
    return proof.jkt


def with_dpop_nonce(response):
    """Section 8.2: hand out the current nonce with every response of an endpoint that takes proofs."""
    if current_settings().DPOP_REQUIRE_NONCE:
        response.headers[NONCE_HEADER] = current_nonce()
    return response
