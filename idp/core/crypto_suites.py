"""The two algorithm suites a deployment may choose (``CRYPTO_SUITE``; docs/privacy.md, "Encrypted at rest").

``international``: AES-256-GCM and SHA-256.  ``sm``: SM4-GCM (GB/T 32907 with the GCM mode of
GB/T 36624) and SM3 (GB/T 32905), as GB/T 39786-2021 asks of commercial cryptography.  Both come
from ``cryptography`` (OpenSSL); nothing here implements an algorithm.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

#: 96-bit nonces, random per value: with one key at most some billions of values are sealed
#: (every personal field of every account, and rotation moves them to a new key).
NONCE_BYTES = 12
TAG_BYTES = 16


class SealBroken(ValueError):
    """The ciphertext, its nonce or its associated data was altered, or the key is not the one used."""


@dataclass(frozen=True)
class CryptoSuite:
    name: str
    #: Bytes of a data key: 32 for AES-256, 16 for SM4 (its only key size).
    data_key_bytes: int
    hash_name: str

    def _hash(self) -> hashes.HashAlgorithm:
        return hashes.SM3() if self.hash_name == "sm3" else hashes.SHA256()

    def digest(self, data: bytes) -> str:
        """Hex digest (SHA-256 or SM3, both 256 bits)."""
        if self.hash_name == "sha256":
            return hashlib.sha256(data).hexdigest()
        h = hashes.Hash(self._hash())
        h.update(data)
        return h.finalize().hex()

    def keyed_digest(self, key: bytes, data: bytes) -> str:
        """Hex HMAC-SHA256 or HMAC-SM3 (RFC 2104 over either hash)."""
        mac = hmac.HMAC(key, self._hash())
        mac.update(data)
        return mac.finalize().hex()

    def seal(self, key: bytes, nonce: bytes, plaintext: bytes, associated: bytes) -> bytes:
        """Ciphertext followed by its 16-byte tag."""
        if self.name == "international":
            return AESGCM(key).encrypt(nonce, plaintext, associated)
        encryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
        encryptor.authenticate_additional_data(associated)
        return encryptor.update(plaintext) + encryptor.finalize() + encryptor.tag

    def open(self, key: bytes, nonce: bytes, sealed: bytes, associated: bytes) -> bytes:
        try:
            if self.name == "international":
                return AESGCM(key).decrypt(nonce, sealed, associated)
            body, tag = sealed[:-TAG_BYTES], sealed[-TAG_BYTES:]
            decryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
            decryptor.authenticate_additional_data(associated)
            return decryptor.update(body) + decryptor.finalize()
        except (InvalidTag, ValueError):
            raise SealBroken("personal data does not open: altered, moved to another row, or another key") from None


SUITES = {
    "international": CryptoSuite("international", data_key_bytes=32, hash_name="sha256"),
    "sm": CryptoSuite("sm", data_key_bytes=16, hash_name="sm3"),
}
