"""Key rotation without downtime: several keys (newest first) -- the newest encrypts, any of them
decrypts; ``cas rotate-keys`` re-encrypts SSNs and files under the newest key, resumably; the
search hashes do not change, so SSN search keeps finding older records."""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import rotation
from app.clock import now
from app.config import DEFAULT_FIELD_KEY, Settings
from app.models import Client
from app.services.clients.ssn import decrypt_ssn, set_ssn
from app.services.platform.crypto import FieldCipher, cipher_for, key_id, seal, unseal
from app.storage import FileStore, IntegrityError, LocalStorage
from tests.conftest import World
from tests.support.documents import make_client

OLD = DEFAULT_FIELD_KEY
NEW = base64.urlsafe_b64encode(os.urandom(32)).decode()


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _read(store: FileStore, key: str) -> bytes:
    return b"".join([piece async for piece in store.open(key)])


def _legacy_v1(cipher_key: str, plaintext: str, associated: bytes) -> bytes:
    """What a release before key rotation wrote: b"\\x01" + nonce + AES-GCM, no key id."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from app.config import decode_field_key

    nonce = os.urandom(12)
    body = AESGCM(decode_field_key(cipher_key)).encrypt(nonce, plaintext.encode(), associated)
    return b"\x01" + nonce + body


def test_settings_take_several_keys_newest_first_and_keep_the_single_key_setting() -> None:
    single = Settings(field_encryption_key=OLD)
    assert single.encryption_keys == [OLD] and single.search_hash_secret == OLD
    several = Settings(field_encryption_key=OLD, field_encryption_keys=f"{NEW}, {OLD}")
    assert several.encryption_keys == [NEW, OLD]
    # The search-hash secret stays the single key's: rotating encryption keys keeps hashes.
    assert several.search_hash_secret == OLD
    with pytest.raises(ValueError):
        Settings(field_encryption_keys="not-a-key")
    with pytest.raises(ValueError):
        Settings(environment="production", secret_key="s" * 40, field_encryption_keys=NEW)


def test_the_newest_key_encrypts_and_every_configured_key_decrypts() -> None:
    old = FieldCipher(OLD)
    rotated = FieldCipher([NEW, OLD], hash_secret=OLD)
    written_before = old.encrypt("123456789", associated=b"ssn")
    legacy = _legacy_v1(OLD, "987654321", b"ssn")
    # Reads accept the old key (both the keyed format and the one before key ids).
    assert rotated.decrypt(written_before, associated=b"ssn") == "123456789"
    assert rotated.decrypt(legacy, associated=b"ssn") == "987654321"
    # Writes name the newest key; a deployment without the old key cannot read old data.
    written_after = rotated.encrypt("123456789", associated=b"ssn")
    assert written_after[:1] == b"\x02" and written_after[1:5] == key_id(NEW)
    assert rotated.is_current(written_after) and not rotated.is_current(written_before)
    assert FieldCipher(NEW).decrypt(written_after, associated=b"ssn") == "123456789"
    with pytest.raises(ValueError):
        FieldCipher(NEW).decrypt(written_before, associated=b"ssn")
    with pytest.raises(InvalidTag):
        FieldCipher(NEW).decrypt(legacy, associated=b"ssn")
    # The search hash is the same before and after (SSN search finds older records).
    assert rotated.ssn_hash("123456789") == old.ssn_hash("123456789")
    # Sealed values (webhook secrets, idempotent replays) rotate the same way.
    sealed = seal(b"secret", key=OLD, purpose="p")
    assert unseal(sealed, key=[NEW, OLD], purpose="p") == b"secret"
    assert unseal(seal(b"x", key=[NEW, OLD], purpose="p"), key=NEW, purpose="p") == b"x"


@pytest.fixture
def rotated_settings(test_settings: Settings) -> Settings:
    return Settings(**(test_settings.model_dump() | {"field_encryption_keys": f"{NEW},{OLD}"}))


async def test_rotate_keys_reencrypts_ssns_and_files_resumably(
    db: AsyncSession,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    rotated_settings: Settings,
    tmp_path: Path,
) -> None:
    assert rotated_settings.encryption_keys == [NEW, OLD]
    old_cipher = FieldCipher(OLD)
    clients: list[Client] = []
    for i in range(5):
        client = await make_client(db, world)
        set_ssn(client, f"12345678{i}", old_cipher)
        client.ssn_data_quality = 1
        clients.append(client)
    legacy_client = await make_client(db, world)
    legacy_client.ssn_encrypted = _legacy_v1(OLD, "555443333", b"ssn")
    legacy_client.ssn_hash = old_cipher.ssn_hash("555443333")
    legacy_client.ssn_last4_hash = old_cipher.ssn_last4_hash("3333")
    legacy_client.ssn_data_quality = 1
    await db.flush()
    old_store = FileStore(LocalStorage(tmp_path / "files"), OLD)
    file_key = await old_store.save(_chunks(b"%PDF-1.4 a scan" * 10_000))

    # Deployed with both keys: everything written before is readable, before any rotation.
    cipher = cipher_for(rotated_settings)
    store = FileStore(LocalStorage(tmp_path / "files"), rotated_settings.encryption_keys)
    assert decrypt_ssn(clients[0].ssn_encrypted, cipher) == "123456780"
    assert await _read(store, file_key) == b"%PDF-1.4 a scan" * 10_000
    assert not await store.is_current(file_key)

    # Batches of two: several transactions, as a big table would take.
    counts = await rotation.rotate_keys(
        sessionmaker, rotated_settings, cipher, [store], batch_size=2
    )
    assert counts.ssns >= 6 and counts.files == 1
    # Only the new key is needed now; the hashes did not change.
    new_only = FieldCipher(NEW, hash_secret=OLD)
    new_store = FileStore(LocalStorage(tmp_path / "files"), NEW)
    ids = [c.id for c in [*clients, legacy_client]]
    rows = (
        await db.execute(
            select(Client.id, Client.ssn_encrypted, Client.ssn_hash).where(Client.id.in_(ids))
        )
    ).all()
    found = {row.id: row for row in rows}
    for i, c in enumerate(clients):
        row = found[c.id]
        assert decrypt_ssn(row.ssn_encrypted, new_only) == f"12345678{i}"
        assert new_only.is_current(row.ssn_encrypted)
        assert row.ssn_hash == old_cipher.ssn_hash(f"12345678{i}")
    assert decrypt_ssn(found[legacy_client.id].ssn_encrypted, new_only) == "555443333"
    assert await _read(new_store, file_key) == b"%PDF-1.4 a scan" * 10_000
    with pytest.raises(IntegrityError):
        await _read(old_store, file_key)

    # Run again (an interrupted rotation resumed): nothing left to do.
    again = await rotation.rotate_keys(sessionmaker, rotated_settings, cipher, [store])
    assert again.as_dict() == {"ssns": 0, "webhook_secrets": 0, "files": 0}


def test_rotate_keys_from_the_command_line(
    rotated_settings: Settings, database_url: str, monkeypatch: Any
) -> None:
    from typer.testing import CliRunner

    from app import cli

    seen: dict[str, Any] = {}

    async def fake(sessionmaker: Any, settings: Settings, cipher: Any, stores: Any, **kw: Any):  # type: ignore[no-untyped-def]
        seen.update(keys=settings.encryption_keys, stores=len(stores), **kw)
        return rotation.RotationCounts(ssns=3, webhook_secrets=1, files=2)

    monkeypatch.setattr(rotation, "rotate_keys", fake)
    prepared = Settings(**(rotated_settings.model_dump() | {"database_url": database_url}))
    monkeypatch.setattr(cli, "_prepared_settings", lambda: prepared)
    result = CliRunner().invoke(cli.cli, ["rotate-keys", "--batch-size", "100"])
    assert result.exit_code == 0, result.output
    assert '"ssns": 3' in result.output and '"files": 2' in result.output
    assert seen == {"keys": [NEW, OLD], "stores": 2, "batch_size": 100}


async def test_rotate_keys_reseals_webhook_secrets(
    db: AsyncSession,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    rotated_settings: Settings,
) -> None:
    import uuid

    from app.models.notifications import WebhookSubscription

    sub_id = uuid.uuid4()
    db.add(
        WebhookSubscription(
            id=sub_id,
            coc_id=world.home.coc.id,
            organization_id=world.org_id("cas"),
            url="https://partner.example/hooks",
            event_types=["document.uploaded"],
            secret_sealed=seal(
                b"s3cret-old", key=OLD, purpose="webhook-secret", associated=sub_id.bytes
            ),
            previous_secret_sealed=seal(
                b"s3cret-older", key=OLD, purpose="webhook-secret", associated=sub_id.bytes
            ),
            previous_secret_expires_at=now() + timedelta(days=1),
            consecutive_failures=0,
            created_by_user_id=world.user_id("cas_admin"),
        )
    )
    await db.flush()
    cipher = cipher_for(rotated_settings)
    counts = await rotation.rotate_keys(sessionmaker, rotated_settings, cipher, [])
    assert counts.webhook_secrets == 1
    sealed = (
        await db.execute(
            select(
                WebhookSubscription.secret_sealed, WebhookSubscription.previous_secret_sealed
            ).where(WebhookSubscription.id == sub_id)
        )
    ).one()
    for value, plain in zip(sealed, (b"s3cret-old", b"s3cret-older"), strict=True):
        assert unseal(value, key=NEW, purpose="webhook-secret", associated=sub_id.bytes) == plain
    again = await rotation.rotate_keys(sessionmaker, rotated_settings, cipher, [])
    assert again.webhook_secrets == 0
