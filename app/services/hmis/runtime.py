"""What the HMIS CSV jobs need from the composition root, and their progress reports.

The export and import jobs run outside requests: each is one function of ``(runtime, job id)``
(``imports.run_import``, ``exports.run_export``). The request that creates one queues a job on
the job runner in its own transaction (``queue_run``: kinds ``EXPORT_JOB``/``IMPORT_JOB``), so a
committed export or import always runs, on whichever server or ``cas worker`` claims it, and a
worker that dies mid-run leaves it to the next one once its lease lapses (a run starts again
from the beginning: nothing of a crashed run was kept). Their state lives in their own tables
(``hmis_imports``, ``hmis_exports``); ``cas import-hmis-csv`` and ``cas export-hmis-csv`` call
the same functions in their own process.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import Table, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.models.base import Base
from app.services.hmis.archive import Limits
from app.services.platform import jobs
from app.services.platform.crypto import FieldCipher
from app.storage import FileStore, hmis_file_store_from_settings
from app.unit_of_work import unit_of_work


@dataclass(frozen=True)
class HmisRuntime:
    sessionmaker: async_sessionmaker[AsyncSession]
    cipher: FieldCipher
    store: FileStore
    limits: Limits
    work_dir: Path
    export_retention: timedelta

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        cipher: FieldCipher,
        store: FileStore | None = None,
    ) -> HmisRuntime:
        return cls(
            sessionmaker=sessionmaker,
            cipher=cipher,
            store=store or hmis_file_store_from_settings(settings),
            limits=Limits(
                max_entries=settings.hmis_max_entries,
                max_uncompressed_bytes=settings.hmis_max_uncompressed_bytes,
                max_ratio=settings.hmis_max_compression_ratio,
            ),
            work_dir=settings.hmis_dir / "work",
            export_retention=timedelta(hours=settings.hmis_export_retention_hours),
        )


EXPORT_JOB = "hmis.export"
IMPORT_JOB = "hmis.import"
JOB_KINDS = (EXPORT_JOB, IMPORT_JOB)
# A run's own failures are recorded on its row (status ``failed``); a job is tried again only
# when the run itself could not finish (the database went away, the worker died).
JOB_MAX_ATTEMPTS = 3


def queue_run(session: AsyncSession, kind: str, job_id: uuid.UUID, coc_id: uuid.UUID) -> None:
    """Queue the run of export or import ``job_id`` on the job runner, in the transaction that
    created it (its payload is the id alone)."""
    key = "export_id" if kind == EXPORT_JOB else "import_id"
    jobs.add(
        session,
        kind,
        {key: str(job_id)},
        coc_id=coc_id,
        dedupe_key=f"{kind}:{job_id}",
        max_attempts=JOB_MAX_ATTEMPTS,
    )


async def raw_connection(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under the session, in the session's transaction: for COPY and
    the long set-based statements of a load. The driver begins the transaction lazily, on the
    session's first statement: one is run first, so everything sent to the raw connection
    (``SET LOCAL``, transaction-scoped locks, the load itself) is inside it."""
    connection = await session.connection()
    await connection.exec_driver_sql("SELECT 1")
    raw = await connection.get_raw_connection()
    driver: asyncpg.Connection = raw.driver_connection
    return driver


def lock_key(text: str) -> int:
    """A bigint for ``pg_advisory_xact_lock`` from a name."""
    return uuid.uuid5(uuid.NAMESPACE_OID, text).int % (2**63)


@dataclass
class JobProgress:
    """Progress of a running job, written to its row in a unit of work of its own (committed at
    once, so ``GET`` sees it while the job's own transaction is still open); at most every
    ``interval`` seconds unless forced."""

    runtime: HmisRuntime
    model: type[Base]
    job_id: uuid.UUID
    interval: float = 0.5
    state: dict[str, Any] = field(default_factory=lambda: {"phase": "queued", "files": {}})
    _written: float = 0.0
    _phase_started: float | None = None

    def file(self, name: str) -> dict[str, Any]:
        files: dict[str, Any] = self.state["files"]
        return files.setdefault(name, {})

    async def phase(self, name: str, **columns: Any) -> None:
        """A new phase, with the job row's columns that change with it (its ``status``); the
        seconds the previous phase took are kept in ``seconds``."""
        self.close_phase()
        self.state["phase"] = name
        await self.flush(force=True, **columns)

    def close_phase(self) -> None:
        now = time.monotonic()
        if self._phase_started is not None:
            seconds: dict[str, float] = self.state.setdefault("seconds", {})
            seconds[self.state["phase"]] = round(now - self._phase_started, 2)
        self._phase_started = now

    async def update(self, file: str, **values: Any) -> None:
        self.file(file).update(values)
        await self.flush()

    async def flush(self, *, force: bool = False, **columns: Any) -> None:
        now = time.monotonic()
        if not force and not columns and now - self._written < self.interval:
            return
        self._written = now
        table: Table = self.model.__table__  # type: ignore[assignment]
        async with unit_of_work(self.runtime.sessionmaker) as session:
            await session.execute(
                update(table)
                .where(table.c.id == self.job_id)
                .values(progress=dict(self.state), **columns)
            )
