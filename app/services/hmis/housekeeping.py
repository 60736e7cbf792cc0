"""Housekeeping of the HMIS CSV jobs: expired export zips deleted, files no job refers to (left by
a crash between storing and committing) removed after a day, and runs whose job on the job
runner is dead marked failed."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, cast, exists, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.hmis import HmisExport, HmisImport
from app.models.jobs import Job
from app.reference.hmis_jobs import (
    UNFINISHED_EXPORTS,
    UNFINISHED_IMPORTS,
    ExportStatus,
    ImportStatus,
)
from app.reference.notifications import JobStatus
from app.services.hmis.exports import expire_exports
from app.services.hmis.runtime import EXPORT_JOB, IMPORT_JOB
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


ABANDONED = "The run stopped too many times (its job is in the dead letter); start a new one."


async def fail_abandoned_runs(session: AsyncSession, now: datetime) -> int:
    """Exports and imports whose job is dead (it failed, or lost its worker, on every try) are
    failed, so they no longer count as unfinished: the CoC's next import and the organization's
    next export are not refused because of them. Runs of ``cas import-hmis-csv`` and ``cas
    export-hmis-csv`` have no job and are left alone. A system admin who retries a dead job
    before this runs gets the run done instead."""
    failed = 0
    runs = (
        (HmisImport, IMPORT_JOB, UNFINISHED_IMPORTS, ImportStatus.FAILED),
        (HmisExport, EXPORT_JOB, UNFINISHED_EXPORTS, ExportStatus.FAILED),
    )
    for model, kind, unfinished, status in runs:
        dead = exists().where(
            Job.dedupe_key == literal(f"{kind}:") + cast(model.id, String),
            Job.status == JobStatus.DEAD.value,
        )
        result = await session.execute(
            update(model)
            .where(model.status.in_([s.value for s in unfinished]), dead)
            .values(status=status.value, error=ABANDONED, finished_at=now)
            .execution_options(synchronize_session=False)
        )
        failed += int(getattr(result, "rowcount", 0) or 0)
    return failed
