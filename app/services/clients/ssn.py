"""SSNs at rest and on screen: encrypted with the field cipher, searchable through keyed hashes
of the full number and of its last four digits, shown masked (``***-**-6789``) except to the
audited full-SSN read."""

from __future__ import annotations

from app.models import Client
from app.services.platform.crypto import FieldCipher

_ASSOCIATED = b"ssn"


def set_ssn(client: Client, ssn: str | None, cipher: FieldCipher) -> None:
    if ssn is None:
        client.ssn_encrypted = client.ssn_hash = client.ssn_last4_hash = None
        return
    client.ssn_encrypted = cipher.encrypt(ssn, associated=_ASSOCIATED)
    client.ssn_hash = cipher.ssn_hash(ssn) if ssn.isdigit() else None
    last4 = ssn[-4:]
    client.ssn_last4_hash = cipher.ssn_last4_hash(last4) if last4.isdigit() else None


def decrypt_ssn(encrypted: bytes | None, cipher: FieldCipher) -> str | None:
    return None if encrypted is None else cipher.decrypt(encrypted, associated=_ASSOCIATED)


def client_ssn(client: Client, cipher: FieldCipher) -> str | None:
    return decrypt_ssn(client.ssn_encrypted, cipher)


def format_ssn(ssn: str | None) -> str | None:
    return None if ssn is None else f"{ssn[:3]}-{ssn[3:5]}-{ssn[5:]}"


def mask_ssn(ssn: str | None) -> str | None:
    return None if ssn is None else f"***-**-{ssn[-4:]}"
