"""Housekeeping of the HMIS file store: expired export zips deleted, and files no job refers to
(left by a crash between storing and committing) removed after a day."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.hmis import HmisExport, HmisImport
from app.services.hmis.exports import expire_exports
from app.storage import FileStore


async def expire_hmis_exports(session: AsyncSession, store: FileStore, now: datetime) -> int:
    return await expire_exports(session, store, now)


async def sweep_hmis_files(
    session: AsyncSession, store: FileStore, now: datetime, *, grace: timedelta = timedelta(days=1)
) -> int:
    keys = await store.list_keys(older_than=now - grace)
    removed = 0
    for start in range(0, len(keys), 500):
        batch = keys[start : start + 500]
        referenced = set(
            await session.scalars(
                select(HmisExport.storage_key).where(HmisExport.storage_key.in_(batch))
            )
        ) | set(
            await session.scalars(
                select(HmisImport.storage_key).where(HmisImport.storage_key.in_(batch))
            )
        )
        for key in batch:
            if key not in referenced:
                await store.discard(key)
                removed += 1
    return removed
