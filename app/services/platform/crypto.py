"""Field encryption (AES-256-GCM) and keyed search hashes (HMAC-SHA256) for PII such as SSNs.

Both keys come from one configured secret (``settings.field_encryption_key``, 32 bytes, urlsafe
base64), which this module never reads itself: the composition root (``create_app``, the CLI,
jobs) builds a ``FieldCipher`` from it and passes it to the services that need it. The
encryption key is the secret itself; the hashing key is derived from it with HKDF, so a hash
never reveals anything the ciphertext protects and one secret is enough to configure.

Ciphertext layout: ``b"\\x01" + nonce (12 bytes) + AES-GCM(ciphertext || tag)``; the leading byte
is a format version so keys or algorithms can be rotated later.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.config import decode_field_key

_VERSION = b"\x01"
_NONCE_BYTES = 12


@lru_cache(maxsize=4)
def _keys(raw: str) -> tuple[AESGCM, bytes]:
    key = decode_field_key(raw)
    hash_key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"cas-api search hash v1"
    ).derive(key)
    return AESGCM(key), hash_key


class FieldCipher:
    """Encrypts fields and computes their keyed search hashes under one key."""

    def __init__(self, key: str) -> None:
        self._aead, self._hash_key = _keys(key)

    def __repr__(self) -> str:
        return "FieldCipher(<key>)"

    def encrypt(self, plaintext: str, *, associated: bytes = b"") -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext.encode(), associated or None)

    def decrypt(self, token: bytes, *, associated: bytes = b"") -> str:
        if not token or token[:1] != _VERSION:
            raise ValueError("unknown ciphertext format")
        nonce, body = token[1 : 1 + _NONCE_BYTES], token[1 + _NONCE_BYTES :]
        return self._aead.decrypt(nonce, bytes(body), associated or None).decode()

    def keyed_hash(self, value: str, *, purpose: str) -> str:
        """HMAC-SHA256 (hex) of ``value`` for equality search; ``purpose`` separates hash
        spaces."""
        return hmac.new(self._hash_key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()

    def ssn_hash(self, ssn_digits: str) -> str:
        return self.keyed_hash(ssn_digits, purpose="ssn")

    def ssn_last4_hash(self, last4: str) -> str:
        return self.keyed_hash(last4, purpose="ssn4")


@lru_cache(maxsize=8)
def _sealing_key(raw: str, purpose: str) -> AESGCM:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"cas-api seal {purpose} v1".encode()
    ).derive(decode_field_key(raw))
    return AESGCM(derived)


def seal(data: bytes, *, key: str, purpose: str, associated: bytes = b"") -> bytes:
    """AES-256-GCM of ``data`` under a key derived from ``key`` for ``purpose`` (same layout as
    ``encrypt``); ``associated`` binds the ciphertext to its row."""
    nonce = os.urandom(_NONCE_BYTES)
    return _VERSION + nonce + _sealing_key(key, purpose).encrypt(nonce, data, associated or None)


def unseal(token: bytes, *, key: str, purpose: str, associated: bytes = b"") -> bytes:
    """The bytes ``seal`` was given; ``ValueError`` / ``InvalidTag`` when they cannot be had."""
    if not token or token[:1] != _VERSION:
        raise ValueError("unknown ciphertext format")
    nonce, body = token[1 : 1 + _NONCE_BYTES], token[1 + _NONCE_BYTES :]
    return _sealing_key(key, purpose).decrypt(nonce, bytes(body), associated or None)
