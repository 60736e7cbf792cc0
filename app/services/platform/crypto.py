"""Field encryption (AES-256-GCM) and keyed search hashes (HMAC-SHA256) for PII such as SSNs.

Keys come from settings (``settings.encryption_keys``: ``CAS_FIELD_ENCRYPTION_KEYS``, newest
first, or the single ``CAS_FIELD_ENCRYPTION_KEY``), which this module never reads itself: the
composition root (``create_app``, the CLI, jobs) builds a ``FieldCipher`` (``cipher_for``) and
passes it to the services that need it. Writes use the newest key; reads accept any configured
key, so keys rotate without downtime (``cas rotate-keys`` re-encrypts what the old keys wrote).
The search-hash key is derived with HKDF from ``settings.search_hash_secret``
(``CAS_SEARCH_HASH_KEY``, else ``CAS_FIELD_ENCRYPTION_KEY``): it does not change when the
encryption keys rotate.

Ciphertext layout, version 2: ``b"\x02" + key id (4 bytes) + nonce (12) + AES-GCM(ciphertext ||
tag)``; the key id (a hash of the key) names the key that wrote it. Version 1 (``b"\x01" + nonce
+ ...``, before key rotation) is still read, trying each configured key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Sequence
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.config import Settings, decode_field_key

_V1 = b"\x01"
_V2 = b"\x02"
_NONCE_BYTES = 12
_KID_BYTES = 4

Keys = str | Sequence[str]


def _key_list(keys: Keys) -> list[str]:
    found = [keys] if isinstance(keys, str) else list(keys)
    if not found:
        raise ValueError("no encryption key configured")
    return found


def key_id(raw: str) -> bytes:
    """The 4 bytes naming a key in what it encrypted (a hash of it, which reveals nothing)."""
    return hashlib.sha256(b"cas-api key id\x00" + decode_field_key(raw)).digest()[:_KID_BYTES]


@lru_cache(maxsize=8)
def _aead(raw: str) -> AESGCM:
    return AESGCM(decode_field_key(raw))


@lru_cache(maxsize=4)
def _hash_key(raw: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"cas-api search hash v1"
    ).derive(decode_field_key(raw))


def _open(
    token: bytes, candidates: list[tuple[bytes, AESGCM]], associated: bytes
) -> tuple[bytes, bytes]:
    """(plaintext, id of the key that opened it)."""
    if token[:1] == _V2:
        kid, rest = bytes(token[1 : 1 + _KID_BYTES]), token[1 + _KID_BYTES :]
        for candidate_id, aead in candidates:
            if candidate_id == kid:
                nonce, body = rest[:_NONCE_BYTES], rest[_NONCE_BYTES:]
                return aead.decrypt(nonce, bytes(body), associated or None), kid
        raise ValueError("encrypted with a key that is not configured")
    if token[:1] == _V1:
        nonce, body = token[1 : 1 + _NONCE_BYTES], token[1 + _NONCE_BYTES :]
        last: Exception | None = None
        for candidate_id, aead in candidates:
            try:
                return aead.decrypt(nonce, bytes(body), associated or None), candidate_id
            except Exception as exc:  # InvalidTag: not this key
                last = exc
        assert last is not None
        raise last
    raise ValueError("unknown ciphertext format")


def _close(kid: bytes, aead: AESGCM, data: bytes, associated: bytes) -> bytes:
    nonce = os.urandom(_NONCE_BYTES)
    return _V2 + kid + nonce + aead.encrypt(nonce, data, associated or None)


class FieldCipher:
    """Encrypts fields under the newest key, decrypts under any configured key, and computes
    keyed search hashes (under the hash key, the oldest configured key unless given)."""

    def __init__(self, keys: Keys, *, hash_secret: str | None = None) -> None:
        found = _key_list(keys)
        self._keys = [(key_id(raw), _aead(raw)) for raw in found]
        self._hash_key = _hash_key(hash_secret or found[-1])

    def __repr__(self) -> str:
        return "FieldCipher(<keys>)"

    @property
    def current_key_id(self) -> bytes:
        return self._keys[0][0]

    def encrypt(self, plaintext: str, *, associated: bytes = b"") -> bytes:
        kid, aead = self._keys[0]
        return _close(kid, aead, plaintext.encode(), associated)

    def decrypt(self, token: bytes, *, associated: bytes = b"") -> str:
        return _open(token, self._keys, associated)[0].decode()

    def is_current(self, token: bytes) -> bool:
        """Whether ``token`` was written by the newest key (nothing for a rotation to do)."""
        return token[:1] == _V2 and bytes(token[1 : 1 + _KID_BYTES]) == self.current_key_id

    def keyed_hash(self, value: str, *, purpose: str) -> str:
        """HMAC-SHA256 (hex) of ``value`` for equality search; ``purpose`` separates hash
        spaces."""
        return hmac.new(self._hash_key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()

    def ssn_hash(self, ssn_digits: str) -> str:
        return self.keyed_hash(ssn_digits, purpose="ssn")

    def ssn_last4_hash(self, last4: str) -> str:
        return self.keyed_hash(last4, purpose="ssn4")


@lru_cache(maxsize=16)
def _sealing_key(raw: str, purpose: str) -> AESGCM:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"cas-api seal {purpose} v1".encode()
    ).derive(decode_field_key(raw))
    return AESGCM(derived)


def _sealing_keys(keys: Keys, purpose: str) -> list[tuple[bytes, AESGCM]]:
    return [(key_id(raw), _sealing_key(raw, purpose)) for raw in _key_list(keys)]


def seal(data: bytes, *, key: Keys, purpose: str, associated: bytes = b"") -> bytes:
    """AES-256-GCM of ``data`` under a key derived for ``purpose`` from the newest of ``key``
    (same layout as ``FieldCipher.encrypt``); ``associated`` binds the ciphertext to its row."""
    kid, aead = _sealing_keys(key, purpose)[0]
    return _close(kid, aead, data, associated)


def unseal(token: bytes, *, key: Keys, purpose: str, associated: bytes = b"") -> bytes:
    """The bytes ``seal`` was given, under any of ``key``; ``ValueError`` / ``InvalidTag`` when
    they cannot be had."""
    return _open(token, _sealing_keys(key, purpose), associated)[0]


def is_sealed_with_newest(token: bytes, *, key: Keys) -> bool:
    return token[:1] == _V2 and bytes(token[1 : 1 + _KID_BYTES]) == key_id(_key_list(key)[0])


def cipher_for(settings: Settings) -> FieldCipher:
    """The field cipher of a deployment: its encryption keys and its search-hash secret."""
    return FieldCipher(settings.encryption_keys, hash_secret=settings.search_hash_secret)
