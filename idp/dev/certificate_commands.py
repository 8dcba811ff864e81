"""``idp certs …``: a development CA for tax digital certificates, and a stand-in signing agent."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import click
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from idp.dev.certificate_ca import DEFAULT_NAME, DEFAULT_USCC, create_dev_ca


def sign_challenge(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, challenge: str) -> bytes:
    """What a local signing agent does (docs/certificate-login.md): sign the challenge's bytes
    (base64url-decoded) with SHA-256, ECDSA (DER) or RSA PKCS#1 v1.5."""
    signed = base64.urlsafe_b64decode(challenge + "=" * (-len(challenge) % 4))
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(signed, padding.PKCS1v15(), hashes.SHA256())
    return key.sign(signed, ec.ECDSA(hashes.SHA256()))


def load_signing_key(key_pem: bytes) -> ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey:
    """The agent's private key; tax digital certificates carry EC or RSA keys only."""
    key = serialization.load_pem_private_key(key_pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise click.UsageError(f"the key is {type(key).__name__}; a signing agent signs with an EC or RSA key")
    return key


def agent_response(key_pem: bytes, chain_pem: bytes, challenge: str) -> dict:
    """The JSON body the login page posts: chain (base64 DER, leaf first), signature, challenge."""
    key = load_signing_key(key_pem)
    chain = x509.load_pem_x509_certificates(chain_pem)
    return {
        "certificate_chain": [base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode() for c in chain],
        "signature": base64.b64encode(sign_challenge(key, challenge)).decode(),
        "challenge": challenge,
    }


def register_certs_commands(main: click.Group, with_app) -> None:
    @main.group()
    def certs() -> None:
        """Tax digital certificates: development CA and signing-agent stand-in."""

    @certs.command("dev-ca")
    @click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path))
    @click.option("--uscc", default=DEFAULT_USCC, show_default=True, help="USCC the test certificates name")
    @click.option("--name", default=DEFAULT_NAME, show_default=True, help="enterprise name in the subject")
    def dev_ca(out: Path, uscc: str, name: str) -> None:
        """Create a development root + intermediate CA, a CRL and test certificates (never for production)."""
        written = create_dev_ca(out, uscc=uscc, name=name)
        for label, path in written.items():
            click.echo(f"{label:<16} {path}")
        click.echo(f"set IDP_CERT_TRUST_ANCHORS={written['trust-anchors']} IDP_CERT_CRL_PATHS={written['crl']}")

    @certs.command("sign-challenge")
    @click.option("--key", "key_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--challenge", required=True, help="the challenge exactly as the provider issued it")
    @click.option("--chain", "chain_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                  help="certificate chain PEM (leaf first): prints the whole JSON answer instead of the signature")
    def sign(key_path: Path, challenge: str, chain_path: Path | None) -> None:
        """Act as the local signing agent for demos and tests."""
        if chain_path is not None:
            click.echo(json.dumps(agent_response(key_path.read_bytes(), chain_path.read_bytes(), challenge)))
            return
        click.echo(base64.b64encode(sign_challenge(load_signing_key(key_path.read_bytes()), challenge)).decode())
