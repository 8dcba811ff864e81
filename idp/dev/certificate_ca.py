"""A development certificate authority for tax digital certificates (``idp certs dev-ca``).

Real X.509 from ``cryptography``: a root, an intermediate that issues enterprise certificates,
a CRL, and test certificates that exercise every refusal of :mod:`idp.factors.certificate`.
Never for production: the private keys are written unencrypted next to the certificates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

#: A valid USCC from docs/domain.md §2.2, used when no other is given.
DEFAULT_USCC = "91370200MA3C12346H"
DEFAULT_NAME = "青岛海川建筑安装有限公司"

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@dataclass(frozen=True)
class Issuer:
    certificate: x509.Certificate
    key: PrivateKey


def generate_ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def enterprise_subject(uscc: str | None, name: str = DEFAULT_NAME) -> x509.Name:
    """A subject naming the enterprise by USCC in organizationIdentifier (2.5.4.97)."""
    attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"), x509.NameAttribute(NameOID.ORGANIZATION_NAME, name)]
    if uscc:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, uscc))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, name))
    return x509.Name(attributes)


def _key_usage(*, digital_signature: bool = False, key_cert_sign: bool = False,
               key_encipherment: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=digital_signature, content_commitment=False,
                         key_encipherment=key_encipherment, data_encipherment=False, key_agreement=False,
                         key_cert_sign=key_cert_sign, crl_sign=key_cert_sign, encipher_only=False,
                         decipher_only=False)


def _builder(subject: x509.Name, issuer_name: x509.Name, public_key, not_before: datetime,
             not_after: datetime) -> x509.CertificateBuilder:
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name).public_key(public_key)
            .serial_number(x509.random_serial_number()).not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False))


def create_root(common_name: str, now: datetime) -> Issuer:
    key = generate_ec_key()
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    certificate = (_builder(name, name, key.public_key(), now - timedelta(days=1), now + timedelta(days=3650))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
                   .add_extension(_key_usage(key_cert_sign=True), critical=True)
                   .sign(key, hashes.SHA256()))
    return Issuer(certificate, key)


def create_intermediate(root: Issuer, common_name: str, now: datetime) -> Issuer:
    key = generate_ec_key()
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    certificate = (_builder(name, root.certificate.subject, key.public_key(), now - timedelta(days=1),
                            now + timedelta(days=1825))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                   .add_extension(_key_usage(key_cert_sign=True), critical=True)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root.key.public_key()),
                                  critical=False)
                   .sign(root.key, hashes.SHA256()))
    return Issuer(certificate, key)


def issue_enterprise_certificate(issuer: Issuer, subject: x509.Name, key: PrivateKey, *, now: datetime,
                                 days: int = 365, not_before: datetime | None = None,
                                 digital_signature: bool = True) -> x509.Certificate:
    """An enterprise (end-entity) certificate; ``digital_signature=False`` makes a key-usage misfit."""
    start = not_before or now - timedelta(days=1)
    return (_builder(subject, issuer.certificate.subject, key.public_key(), start, start + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(digital_signature=digital_signature,
                                      key_encipherment=not digital_signature), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
                           critical=False)
            .sign(issuer.key, hashes.SHA256()))


def create_crl(issuer: Issuer, revoked_serials: list[int], now: datetime) -> x509.CertificateRevocationList:
    builder = (x509.CertificateRevocationListBuilder().issuer_name(issuer.certificate.subject)
               .last_update(now - timedelta(minutes=5)).next_update(now + timedelta(days=7)))
    for serial in revoked_serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now - timedelta(minutes=5)).build())
    return builder.sign(issuer.key, hashes.SHA256())


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _write_key(path: Path, key: PrivateKey) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def create_dev_ca(out: Path, *, uscc: str = DEFAULT_USCC, name: str = DEFAULT_NAME,
                  now: datetime | None = None) -> dict[str, Path]:
    """Write the development CA and its test certificates to ``out``; returns what was written.

    ``trust-anchors.pem`` (the root) goes into CERT_TRUST_ANCHORS and ``crl.pem`` into
    CERT_CRL_PATHS.  Each test certificate ``<name>`` comes as ``<name>.chain.pem`` (leaf, then
    intermediate) and ``<name>.key.pem``: valid, valid-rsa, expired, wrong-ca, wrong-key-usage,
    revoked (listed in the CRL) and no-enterprise (no USCC anywhere in the subject).
    """
    now = now or datetime.now(UTC)
    out.mkdir(parents=True, exist_ok=True)
    root = create_root("qdtax-idp development root CA", now)
    intermediate = create_intermediate(root, "qdtax-idp development enterprise CA", now)
    rogue_root = create_root("untrusted CA", now)
    subject = enterprise_subject(uscc, name)
    written = {"trust-anchors": out / "trust-anchors.pem", "crl": out / "crl.pem"}
    written["trust-anchors"].write_bytes(_pem(root.certificate))
    leaves: dict[str, tuple[Issuer, PrivateKey, dict[str, Any]]] = {
        "valid": (intermediate, generate_ec_key(), {}),
        "valid-rsa": (intermediate, rsa.generate_private_key(public_exponent=65537, key_size=2048), {}),
        "expired": (intermediate, generate_ec_key(), {"not_before": now - timedelta(days=400), "days": 365}),
        "wrong-ca": (rogue_root, generate_ec_key(), {}),
        "wrong-key-usage": (intermediate, generate_ec_key(), {"digital_signature": False}),
        "revoked": (intermediate, generate_ec_key(), {}),
        "no-enterprise": (intermediate, generate_ec_key(), {"subject": enterprise_subject(None, name)}),
    }
    revoked_serials = []
    for leaf_name, (issuer, key, options) in leaves.items():
        leaf_subject = options.pop("subject", subject)
        certificate = issue_enterprise_certificate(issuer, leaf_subject, key, now=now, **options)
        chain = _pem(certificate) + (_pem(intermediate.certificate) if issuer is intermediate else b"")
        written[leaf_name] = out / f"{leaf_name}.chain.pem"
        written[leaf_name].write_bytes(chain)
        _write_key(out / f"{leaf_name}.key.pem", key)
        if leaf_name == "revoked":
            revoked_serials.append(certificate.serial_number)
    written["crl"].write_bytes(create_crl(intermediate, revoked_serials, now).public_bytes(serialization.Encoding.PEM))
    return written
