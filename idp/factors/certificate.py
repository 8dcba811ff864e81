"""The tax digital certificate (UKey) factor: proof of possession of the certificate's key.

The contract with the local signing agent is in docs/certificate-login.md: the provider issues a
random single-use challenge, the agent signs its bytes with the UKey's key, and the provider checks
the signature with the leaf certificate's public key, then the certificate itself
(:mod:`idp.factors.certificate_trust`).  The certificate names an enterprise, not a person, so
this factor yields the enterprise's USCC; the person acting is verified afterwards
(:mod:`idp.login.certificate`).

``amr`` is RFC 8176 ``hwk`` (proof of possession of a hardware-secured key): the bureau issues
these keys on UKeys only.  The UKey PIN is checked by the token itself, never seen here, so
``pin`` is not claimed.  Algorithms: ECDSA P-256 with SHA-256 and RSA PKCS#1 v1.5 with SHA-256.
SM2/SM3 certificates are refused as unsupported: ``cryptography`` has no SM2.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import delete

from idp.core.clock import utcnow
from idp.core.database import db
from idp.core.settings import current_settings
from idp.factors.certificate_trust import CertificateRefused, load_trust_configuration, validate_certificate_chain
from idp.models import CertificateChallenge
from idp.taxpayers.taxpayer_numbers import TaxpayerNumberError, normalise_uscc

#: 256 random bits (the contract promises at least 128).
CHALLENGE_BYTES = 32
#: Longest chain accepted (leaf, intermediates); bounds the parsing work of one request.
MAX_CHAIN_LENGTH = 5
#: Subject attributes searched for the USCC, in this order (documented in docs/certificate-login.md).
USCC_ATTRIBUTES = (NameOID.ORGANIZATION_IDENTIFIER, NameOID.SERIAL_NUMBER, NameOID.COMMON_NAME)
#: ETSI EN 319 412-1 style prefix of organizationIdentifier ("NTRCN-<USCC>").
_SEMANTICS_PREFIX = re.compile(r"^[A-Z]{3}CN[-:]")


class ChallengeInvalid(CertificateRefused):
    """Unknown, expired or already used: every challenge answers exactly one response."""

    code = "certificate_challenge_invalid"


class MalformedResponse(CertificateRefused):
    code = "certificate_malformed"


class SignatureInvalid(CertificateRefused):
    code = "certificate_signature_invalid"


class NoEnterprise(CertificateRefused):
    code = "certificate_no_enterprise"


@dataclass(frozen=True)
class CertificateProof:
    """A verified certificate login: which enterprise, which certificate (serial in hex)."""

    uscc: str
    serial: str
    amr: str = "hwk"


def _hash(challenge: str) -> str:
    return hashlib.sha256(challenge.encode()).hexdigest()


def _b64decode(value: Any, *, urlsafe: bool = False) -> bytes:
    if not isinstance(value, str) or not value:
        raise MalformedResponse()
    try:
        padded = value + "=" * (-len(value) % 4)
        return base64.urlsafe_b64decode(padded) if urlsafe else base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedResponse() from None


def generate_challenge() -> dict[str, Any]:
    """A fresh challenge, stored (as its hash) until it is answered or expires."""
    ttl = current_settings().CERT_CHALLENGE_TTL
    now = utcnow()
    # Expired challenges are swept here, so the table holds only what is live.
    db.session.execute(delete(CertificateChallenge).where(CertificateChallenge.expires_at < now))
    challenge = base64.urlsafe_b64encode(secrets.token_bytes(CHALLENGE_BYTES)).rstrip(b"=").decode()
    db.session.add(CertificateChallenge(challenge_hash=_hash(challenge), created_at=now,
                                        expires_at=now + timedelta(seconds=ttl)))
    return {"challenge": challenge, "expires_in": ttl}


def consume_challenge(challenge: object) -> bytes:
    """Spend the challenge in one atomic statement (two parallel answers: only one wins); returns
    the bytes the agent signed."""
    if not isinstance(challenge, str) or not challenge or len(challenge) > 128:
        raise ChallengeInvalid()
    spent = db.session.execute(
        delete(CertificateChallenge)
        .where(CertificateChallenge.challenge_hash == _hash(challenge), CertificateChallenge.expires_at > utcnow())
        .returning(CertificateChallenge.challenge_hash)
    ).first()
    if spent is None:
        raise ChallengeInvalid()
    return _b64decode(challenge, urlsafe=True)


def check_signature(certificate: x509.Certificate, signature: bytes, signed: bytes) -> None:
    """ECDSA (DER-encoded, as X9.62 and every PKCS#11 bridge emit it) or RSA PKCS#1 v1.5, SHA-256."""
    try:
        key = certificate.public_key()
    except (UnsupportedAlgorithm, ValueError):
        raise SignatureInvalid(detail="unsupported_key") from None
    try:
        if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
            key.verify(signature, signed, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
        else:
            raise SignatureInvalid(detail="unsupported_key")
    except InvalidSignature:
        raise SignatureInvalid() from None


def enterprise_uscc(subject: x509.Name) -> str:
    """The USCC the certificate names: organizationIdentifier, else serialNumber, else CN."""
    for oid in USCC_ATTRIBUTES:
        for attribute in subject.get_attributes_for_oid(oid):
            value = _SEMANTICS_PREFIX.sub("", str(attribute.value).strip().upper())
            try:
                return normalise_uscc(value)
            except TaxpayerNumberError:
                continue
    raise NoEnterprise()


def _load_chain(raw_chain: Any) -> list[x509.Certificate]:
    if not isinstance(raw_chain, list) or not 1 <= len(raw_chain) <= MAX_CHAIN_LENGTH:
        raise MalformedResponse()
    try:
        return [x509.load_der_x509_certificate(_b64decode(item)) for item in raw_chain]
    except ValueError:
        raise MalformedResponse() from None


def verify_certificate_response(response: dict[str, Any]) -> CertificateProof:
    """Check the agent's answer (docs/certificate-login.md): challenge, signature, certificate.

    The challenge is spent first, so a refused answer cannot be retried with the same one.
    """
    if not isinstance(response, dict):
        raise MalformedResponse()
    signed = consume_challenge(response.get("challenge"))
    chain = _load_chain(response.get("certificate_chain"))
    leaf = chain[0]
    serial = format(leaf.serial_number, "x")
    check_signature(leaf, _b64decode(response.get("signature")), signed)
    validate_certificate_chain(chain, load_trust_configuration(), utcnow())
    try:
        uscc = enterprise_uscc(leaf.subject)
    except NoEnterprise:
        raise NoEnterprise(serial=serial) from None
    return CertificateProof(uscc=uscc, serial=serial)


class CertificateFactor:
    """The certificate's challenge, named like the factors of the registry.  It is not in
    ``FACTORS``: it begins without a person and its proof names an enterprise, not a person, so
    it cannot answer ``Factor.verify(person, ...)``; :func:`verify_certificate_response` checks
    the proof and :mod:`idp.login.certificate` verifies the person chosen after it."""

    METHOD: ClassVar[str] = "certificate"
    AMR: ClassVar[str] = "hwk"

    def begin(self, person: Any = None, **context: Any) -> dict[str, Any]:
        return generate_challenge()
