"""One signing key as stored: its state dates and its (encrypted) private key.

``kid`` is the RFC 7638 thumbprint, so the same key always has the same id everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from joserfc.jwk import ECKey, OKPKey, RSAKey

ALGORITHMS = ("ES256", "RS256", "EdDSA")
#: What the provider's own tokens are signed with (access tokens, signed userinfo): cheap to
#: sign on a busy token endpoint, and only this provider and its resource servers verify them.
DEFAULT_ALGORITHM = "ES256"
#: ID tokens of a client that registered no ``id_token_signed_response_alg``: OIDC Dynamic Client
#: Registration 1.0 section 2 and OIDC Core 3.1.3.7 step 7 say RS256, and relying-party
#: libraries (openid-client v5, pyoidc) refuse any other algorithm unless told otherwise.
ID_TOKEN_DEFAULT_ALGORITHM = "RS256"
STATES = ("next", "active", "retired", "revoked")

_GENERATORS: dict[str, Callable[[], object]] = {
    "ES256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "RS256": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
    "EdDSA": ed25519.Ed25519PrivateKey.generate,
}
_JWK_TYPES = {"ES256": ECKey, "RS256": RSAKey, "EdDSA": OKPKey}


class KeyringError(RuntimeError):
    """The keyring cannot be used or changed as asked; the message says why."""


@dataclass(frozen=True)
class KeyRecord:
    kid: str
    alg: str
    state: str
    created_at: int
    private_pem: bytes = field(repr=False)
    activated_at: int | None = None
    retired_at: int | None = None
    #: A retired key leaves the JWKS after this instant: every token it signed has expired.
    retire_after: int | None = None
    revoked_at: int | None = None
    #: Where the key is stored (a file, a database row), for messages about it; not part of its identity.
    source: str = field(default="", compare=False, repr=False)

    def with_state(self, state: str, **dates: int | None) -> KeyRecord:
        return replace(self, state=state, **dates)

    def as_index_entry(self) -> dict:
        """Metadata without the key material (the file store keeps PEMs apart)."""
        return {
            "kid": self.kid, "alg": self.alg, "state": self.state, "created_at": self.created_at,
            "activated_at": self.activated_at, "retired_at": self.retired_at,
            "retire_after": self.retire_after, "revoked_at": self.revoked_at,
        }


def _encryption(passphrase: str) -> serialization.KeySerializationEncryption:
    if passphrase:
        return serialization.BestAvailableEncryption(passphrase.encode())
    return serialization.NoEncryption()


def generate_record(alg: str, state: str, now: int, passphrase: str) -> KeyRecord:
    """A new key of ``alg``; its private half leaves memory only as (encrypted) PKCS#8 PEM."""
    if alg not in _GENERATORS:
        raise KeyringError(f"unsupported signing algorithm {alg!r}; use one of {', '.join(ALGORITHMS)}")
    private = _GENERATORS[alg]()
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, _encryption(passphrase))
    kid = _JWK_TYPES[alg].import_key(private).thumbprint()
    return KeyRecord(kid=kid, alg=alg, state=state, created_at=now, private_pem=pem)


def _unreadable(pem: bytes, passphrase: str) -> str:
    """Why cryptography could not read ``pem`` (it says only "Unable to load PEM file")."""
    if b"-----BEGIN " not in pem:
        return "is not a PEM private key" + (" (it is empty)" if not pem.strip() else "")
    if b"-----END " not in pem:
        return "is truncated (it has no END line)"
    if b"ENCRYPTED" in pem and passphrase:
        return "cannot be decrypted with IDP_KEY_PASSPHRASE (a different passphrase, or a damaged file)"
    return "is damaged (its PEM body does not decode to a private key)"


def _kind(private: object) -> str:
    if isinstance(private, ec.EllipticCurvePrivateKey):
        return f"EC {private.curve.name}"
    if isinstance(private, rsa.RSAPrivateKey):
        return "RSA"
    if isinstance(private, ed25519.Ed25519PrivateKey):
        return "Ed25519"
    return type(private).__name__


#: The key each algorithm signs with (RFC 7518 section 3.1, RFC 8037 section 3.1).
_KINDS = {"ES256": "EC secp256r1", "RS256": "RSA", "EdDSA": "Ed25519"}


def load_jwk(record: KeyRecord, passphrase: str) -> ECKey | RSAKey | OKPKey:
    """The joserfc key of a record, with ``kid`` and ``alg`` set; a :class:`KeyringError` naming
    where the record is stored and what is wrong with it when it is not that key."""
    where = record.source or f"signing key {record.kid}"
    if record.alg not in _JWK_TYPES:
        raise KeyringError(f"{where} is listed as {record.alg!r}, which is none of {', '.join(ALGORITHMS)}")
    try:
        private = serialization.load_pem_private_key(record.private_pem, password=passphrase.encode() or None)
    except TypeError:
        # cryptography's way of saying a passphrase was given for a plain key, or none for an encrypted one.
        reason = ("is not encrypted, but IDP_KEY_PASSPHRASE is set (keys are encrypted with it when created)"
                  if passphrase else "is encrypted, but IDP_KEY_PASSPHRASE is not set")
        raise KeyringError(f"{where} {reason}") from None
    except ValueError:
        raise KeyringError(f"{where} {_unreadable(record.private_pem, passphrase)}") from None
    if _kind(private) != _KINDS[record.alg]:
        raise KeyringError(f"{where} holds an {_kind(private)} key, but the keyring lists it as "
                           f"{record.alg} (an {_KINDS[record.alg]} key)")
    key = _JWK_TYPES[record.alg].import_key(private, {"kid": record.kid, "alg": record.alg, "use": "sig"})
    if key.thumbprint() != record.kid:
        raise KeyringError(f"{where} holds another key than the one its kid {record.kid} names "
                           f"(its thumbprint is {key.thumbprint()})")
    return key
