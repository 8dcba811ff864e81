"""Is a tax digital certificate one we trust today: chain, dates, key usage, revocation.

Path building and signature checks are ``cryptography.x509.verification`` (RFC 5280 with the
Web PKI profile for the CAs).  The enterprise certificate itself is not a Web PKI certificate
(no subjectAltName, often no extendedKeyUsage), so its extensions are permitted as issued and
the one usage that matters here, digitalSignature, is checked explicitly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import cast

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPublicKeyTypes
from cryptography.x509.verification import ExtensionPolicy, PolicyBuilder, Store, VerificationError

from idp.core.settings import current_settings
from idp.factors.base import FactorError


class CertificateRefused(FactorError):
    """The certificate may not log in; ``code`` says why (each has its own page text)."""

    code = "certificate_invalid"


class CertificateExpired(CertificateRefused):
    code = "certificate_expired"


class CertificateUntrusted(CertificateRefused):
    code = "certificate_untrusted"


class CertificateKeyUsage(CertificateRefused):
    code = "certificate_key_usage"


class CertificateRevoked(CertificateRefused):
    code = "certificate_revoked"


class CertificateLoginUnavailable(CertificateRefused):
    code = "certificate_unavailable"


@dataclass(frozen=True)
class TrustConfiguration:
    anchors: list[x509.Certificate]
    crls: list[x509.CertificateRevocationList]


def _paths(setting: str) -> list[Path]:
    return [Path(p) for p in setting.split(os.pathsep) if p.strip()]


def _load_crl(data: bytes) -> x509.CertificateRevocationList:
    if data.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_crl(data)
    return x509.load_der_x509_crl(data)


def load_trust_configuration() -> TrustConfiguration:
    """The anchors of CERT_TRUST_ANCHORS and the CRLs of CERT_CRL_PATHS, read from disk each
    time: small files, and a CRL replaced by the CA's distribution job is used at once."""
    settings = current_settings()
    anchors = [cert for path in _paths(settings.CERT_TRUST_ANCHORS)
               for cert in x509.load_pem_x509_certificates(path.read_bytes())]
    if not anchors:
        raise CertificateLoginUnavailable()
    crls = [_load_crl(path.read_bytes()) for path in _paths(settings.CERT_CRL_PATHS)]
    return TrustConfiguration(anchors, crls)


def validate_certificate_chain(chain: list[x509.Certificate], trust: TrustConfiguration, now: datetime) -> None:
    """Accept the leaf (``chain[0]``) only if it chains to an anchor, is within its dates, may sign,
    and is not on a CRL of its issuer; raises a :class:`CertificateRefused` subclass otherwise."""
    leaf = chain[0]
    if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
        raise CertificateExpired(serial=format(leaf.serial_number, "x"))
    verifier = (PolicyBuilder().store(Store(trust.anchors)).time(now)
                .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(),
                                    ee_policy=ExtensionPolicy.permit_all())
                .build_client_verifier())
    try:
        verified = verifier.verify(leaf, chain[1:])
    except VerificationError as error:
        raise CertificateUntrusted(detail=str(error)[:200]) from None
    try:
        usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        raise CertificateKeyUsage() from None
    if not usage.digital_signature:
        raise CertificateKeyUsage()
    issuer = verified.chain[1]
    check_not_revoked(leaf, issuer, trust.crls, now)


def check_not_revoked(leaf: x509.Certificate, issuer: x509.Certificate,
                      crls: list[x509.CertificateRevocationList], now: datetime) -> None:
    """RFC 5280 section 6.3, simplified: a CRL counts only if its issuer signed it; a leaf on it is
    refused.  A stale CRL (past nextUpdate) refuses every certificate of its issuer, since we can
    no longer tell which are revoked."""
    for crl in crls:
        # The issuer signed the verified chain's leaf, so its key is a signing key.
        issuer_key = cast(CertificateIssuerPublicKeyTypes, issuer.public_key())
        if crl.issuer != issuer.subject or not crl.is_signature_valid(issuer_key):
            continue
        if crl.next_update_utc is not None and crl.next_update_utc < now:
            raise CertificateRevoked(detail="crl_stale")
        if crl.get_revoked_certificate_by_serial_number(leaf.serial_number) is not None:
            raise CertificateRevoked(serial=format(leaf.serial_number, "x"))
