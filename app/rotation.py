"""Key rotation (``cas rotate-keys``): re-encrypt, under the newest of
``CAS_FIELD_ENCRYPTION_KEYS``, what older keys wrote -- SSNs (and their search hashes,
recomputed under the current search-hash key), partner webhook secrets, and every stored file
(documents, HMIS CSV zips).

Safe while the API serves: reads accept every configured key, so nothing fails half-way. Fields
are rewritten in batches, one short transaction each, keyed by id (resumable: run it again and it
skips what is already under the newest key); a row changed meanwhile by the API is left alone (the
update only applies if the ciphertext is still the one read). Files are rewritten in place under
their storage key (the backend replaces an object atomically; no row changes).
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.models import Client
from app.models.notifications import WebhookSubscription
from app.services.clients.ssn import decrypt_ssn, set_ssn
from app.services.notifications.webhooks import reseal_secrets
from app.services.platform.crypto import FieldCipher
from app.storage import FileStore
from app.unit_of_work import unit_of_work


@dataclass
class RotationCounts:
    ssns: int = 0
    webhook_secrets: int = 0
    files: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


async def rotate_ssns(
    sessionmaker: async_sessionmaker[AsyncSession], cipher: FieldCipher, *, batch_size: int = 500
) -> int:
    changed = 0
    after: uuid.UUID | None = None
    while True:
        async with unit_of_work(sessionmaker) as session:
            query = select(
                Client.id, Client.ssn_encrypted, Client.ssn_hash, Client.ssn_last4_hash
            ).where(Client.ssn_encrypted.is_not(None))
            if after is not None:
                query = query.where(Client.id > after)
            rows = (await session.execute(query.order_by(Client.id).limit(batch_size))).all()
            # Plain UPDATEs (no version bump, no ORM bookkeeping): the value is unchanged.
            if not rows:
                return changed
            for row in rows:
                fresh = Client()
                set_ssn(fresh, decrypt_ssn(row.ssn_encrypted, cipher), cipher)
                if cipher.is_current(row.ssn_encrypted) and (
                    fresh.ssn_hash,
                    fresh.ssn_last4_hash,
                ) == (row.ssn_hash, row.ssn_last4_hash):
                    continue
                done = await session.execute(
                    update(Client)
                    .where(Client.id == row.id, Client.ssn_encrypted == row.ssn_encrypted)
                    .values(
                        ssn_encrypted=fresh.ssn_encrypted,
                        ssn_hash=fresh.ssn_hash,
                        ssn_last4_hash=fresh.ssn_last4_hash,
                    )
                )
                changed += int(getattr(done, "rowcount", 0) or 0)
            after = rows[-1].id


async def rotate_webhook_secrets(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, *, batch_size: int = 200
) -> int:
    changed = 0
    after: uuid.UUID | None = None
    while True:
        async with unit_of_work(sessionmaker) as session:
            query = select(WebhookSubscription).order_by(WebhookSubscription.id)
            if after is not None:
                query = query.where(WebhookSubscription.id > after)
            # Locked: a secret rotation through the API waits for this short batch.
            found = (await session.scalars(query.limit(batch_size).with_for_update())).all()
            if not found:
                return changed
            for subscription in found:
                changed += reseal_secrets(settings, subscription)
            after = found[-1].id


async def rotate_files(store: FileStore) -> int:
    changed = 0
    for key in await store.list_keys():
        changed += await store.reencrypt(key)
    return changed


async def rotate_keys(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    stores: list[FileStore],
    *,
    batch_size: int = 500,
) -> RotationCounts:
    counts = RotationCounts()
    counts.ssns = await rotate_ssns(sessionmaker, cipher, batch_size=batch_size)
    counts.webhook_secrets = await rotate_webhook_secrets(sessionmaker, settings)
    for store in stores:
        counts.files += await rotate_files(store)
    return counts
