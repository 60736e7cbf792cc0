"""Scripted loads of HUD HMIS CSV FY2026 zips (DOMAIN 11): validated first, then loaded.

``create_import`` stores the upload (encrypted, streamed, size-limited) and records the job;
``run_import`` does the work, in this order:

1. the archive's safety checks (``archive``), the files present, their headers;
2. one transaction: every file copied into temporary tables (COPY), validated there
   (``validate``: values, rows, keys; the report is machine-readable: file, row, column, rule,
   severity); any high-severity finding ends the transaction before anything is written
   (status ``refused``);
3. in the same transaction, the load (``load``) and its audit rows; committed at once or not at
   all (status ``succeeded``; any error rolls everything back: ``failed``). Running it again
   is safe: the same zip changes nothing, a crash leaves nothing half-written, and a new run
   starts from the stored upload.

Progress (rows validated and loaded per file) is written while it runs, in transactions of its
own, so ``GET /api/v1/imports/{id}`` shows it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import func, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.context import Actor
from app.db import constraint_name
from app.errors import Conflict, DomainError, Forbidden, NotFound, PayloadTooLarge, ValidationFailed
from app.models.hmis import HmisDataSource, HmisImport, HmisImportIssue
from app.models.organizations import Coc
from app.reference.hmis_csv import FILES, Issue
from app.reference.hmis_jobs import UNFINISHED_IMPORTS, ImportStatus
from app.schemas.pagination import PageParams
from app.services.hmis import load as loader
from app.services.hmis.archive import Archive, open_archive
from app.services.hmis.policy import may_import, sees_import
from app.services.hmis.report import Report
from app.services.hmis.runtime import HmisRuntime, JobProgress, lock_key, raw_connection
from app.services.hmis.validate import (
    ExportRow,
    Staged,
    check_hashing,
    read_export_row,
    stage_file,
    validate_keys,
    validate_rows,
    validate_values,
)
from app.services.identity.auth import membership_actor
from app.services.platform import audit
from app.services.platform.pagination import PageOf, paginate
from app.storage import FileStore, ObjectMissing
from app.unit_of_work import on_rollback, unit_of_work

log = logging.getLogger("app.services.hmis")

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]")
TERMINAL = (ImportStatus.SUCCEEDED, ImportStatus.REFUSED, ImportStatus.FAILED)


class _Refused(Exception):
    """High-severity findings: the transaction is rolled back."""


def safe_file_name(name: str | None) -> str:
    base = os.path.basename(name or "upload.zip")
    return (_SAFE_NAME.sub("_", base) or "upload.zip")[:255]


# --- the API side -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredUpload:
    key: str
    size: int
    sha256: str


async def _refuse_a_second_unfinished_import(
    session: AsyncSession, actor: Actor, *, locked: bool
) -> None:
    """One unfinished import per CoC: loads run one after the other anyway, and each queued one
    holds its (up to ``CAS_HMIS_MAX_UPLOAD_BYTES``) zip in the file store."""
    if locked:
        await session.execute(
            select(func.pg_advisory_xact_lock(lock_key(f"hmis-import-create:{actor.coc_id}")))
        )
    unfinished = await session.scalar(
        select(HmisImport.id)
        .where(HmisImport.coc_id == actor.coc_id, HmisImport.status.in_(UNFINISHED_IMPORTS))
        .limit(1)
    )
    if unfinished is not None:
        raise Conflict(
            f"Import {unfinished} is not finished yet; load the next zip when it is (poll "
            f"GET /api/v1/imports/{unfinished})."
        )


async def store_upload(
    session: AsyncSession,
    actor: Actor,
    store: FileStore,
    chunks: AsyncIterator[bytes],
    *,
    max_bytes: int,
) -> StoredUpload:
    """Store an uploaded zip (encrypted, never whole in memory; deleted again unless the
    request's work is committed). A body that does not start like a zip is refused at once
    (422), one over ``max_bytes`` with 413."""
    if not may_import(actor):
        raise Forbidden("Only the HMIS lead's system admins load HMIS CSV data.")
    # Refused before a byte is stored (an upload may be a gigabyte); checked again, under a
    # lock, when the job is recorded.
    await _refuse_a_second_unfinished_import(session, actor, locked=False)
    digest = hashlib.sha256()
    size = 0
    first = True

    async def counted() -> AsyncIterator[bytes]:
        nonlocal size, first
        async for chunk in chunks:
            if first and chunk:
                first = False
                if not chunk.startswith(ZIP_MAGIC):
                    raise ValidationFailed(
                        "The file is not a zip archive (an HMIS CSV export is a zip of the "
                        "FY2026 CSV files).",
                        field="file",
                    )
            size += len(chunk)
            if size > max_bytes:
                raise PayloadTooLarge(f"The zip is larger than {max_bytes} bytes.")
            digest.update(chunk)
            yield chunk

    key = await store.save(counted())
    on_rollback(session, lambda: store.discard(key))
    if size == 0:
        raise ValidationFailed("The file is empty.", field="file")
    return StoredUpload(key=key, size=size, sha256=digest.hexdigest())


async def create_import(
    session: AsyncSession,
    actor: Actor,
    stored: StoredUpload,
    *,
    file_name: str | None,
    options: dict[str, Any],
) -> HmisImport:
    """Record the import job of a stored upload, ``queued``."""
    if not may_import(actor):
        raise Forbidden("Only the HMIS lead's system admins load HMIS CSV data.")
    await _refuse_a_second_unfinished_import(session, actor, locked=True)
    job = HmisImport(
        id=uuid.uuid4(),
        coc_id=actor.coc_id,
        organization_id=actor.organization_id,
        requested_by_user_id=actor.user_id,
        status=ImportStatus.QUEUED,
        file_name=safe_file_name(file_name),
        size_bytes=stored.size,
        sha256=stored.sha256,
        storage_key=stored.key,
        options=options,
        progress={"phase": "queued", "files": {}},
    )
    session.add(job)
    await session.flush()
    audit.record(
        session,
        actor,
        "hmis_import.create",
        "hmis_import",
        job.id,
        {"file_name": job.file_name, "size_bytes": stored.size, "sha256": stored.sha256, **options},
    )
    return job


def import_view(job: HmisImport) -> dict[str, Any]:
    """The import as ``ImportRead`` shows it."""
    return {
        "id": job.id,
        "status": job.status,
        "file_name": job.file_name,
        "size_bytes": job.size_bytes,
        "sha256": job.sha256,
        "allow_missing_files": bool(job.options.get("allow_missing_files")),
        "data_source": job.options.get("data_source"),
        "data_source_id": job.data_source_id,
        "source_export_id": job.source_export_id,
        "progress": job.progress or {"phase": "queued", "files": {}},
        "summary": job.summary or {},
        "counts": job.counts or {},
        "error": job.error,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }


async def create_cli_import(
    session: AsyncSession, actor: Actor, path: Path, options: dict[str, Any]
) -> HmisImport:
    """The job record of a load run from the command line (the zip stays where it is)."""
    if not may_import(actor):
        raise Forbidden("Only the HMIS lead's system admins load HMIS CSV data.")
    digest = await asyncio.to_thread(_sha256, path)
    size = (await asyncio.to_thread(path.stat)).st_size
    job = HmisImport(
        id=uuid.uuid4(),
        coc_id=actor.coc_id,
        organization_id=actor.organization_id,
        requested_by_user_id=actor.user_id,
        status=ImportStatus.QUEUED,
        file_name=safe_file_name(path.name),
        size_bytes=size,
        sha256=digest,
        storage_key=None,
        options=options,
        progress={"phase": "queued", "files": {}},
    )
    session.add(job)
    await session.flush()
    audit.record(
        session,
        actor,
        "hmis_import.create",
        "hmis_import",
        job.id,
        {"file_name": job.file_name, "size_bytes": job.size_bytes, "via": "cli", **options},
    )
    return job


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


async def get_import(session: AsyncSession, actor: Actor, import_id: uuid.UUID) -> HmisImport:
    job = await session.get(HmisImport, import_id, populate_existing=True)
    if job is None or not sees_import(actor, job.coc_id):
        raise NotFound("No such import.")
    return job


async def list_imports(session: AsyncSession, actor: Actor, page: PageParams) -> PageOf[HmisImport]:
    stmt = select(HmisImport).where(HmisImport.coc_id == actor.coc_id)
    return await paginate(
        session, stmt, page, [HmisImport.created_at, HmisImport.id], descending=True
    )


async def list_issues(
    session: AsyncSession,
    job: HmisImport,
    page: PageParams,
    *,
    severity: str | None = None,
    file: str | None = None,
) -> PageOf[HmisImportIssue]:
    stmt = select(HmisImportIssue).where(HmisImportIssue.import_id == job.id)
    if severity is not None:
        stmt = stmt.where(HmisImportIssue.severity == severity)
    if file is not None:
        stmt = stmt.where(HmisImportIssue.file == file)
    return await paginate(session, stmt, page, [HmisImportIssue.seq, HmisImportIssue.id])


async def all_issues(session: AsyncSession, job: HmisImport) -> list[dict[str, Any]]:
    """Every stored finding of the import, in order (the CLI's report file)."""
    rows = await session.scalars(
        select(HmisImportIssue)
        .where(HmisImportIssue.import_id == job.id)
        .order_by(HmisImportIssue.seq)
    )
    return [
        {
            "file": i.file,
            "row": i.row,
            "column": i.column,
            "rule": i.rule,
            "severity": i.severity,
            "message": i.message,
        }
        for i in rows
    ]


async def unfinished_imports(session: AsyncSession) -> list[uuid.UUID]:
    """Imports a stopped server left unfinished (to start again: nothing of theirs was kept)."""
    rows = await session.scalars(
        select(HmisImport.id)
        .where(HmisImport.status.in_([s.value for s in UNFINISHED_IMPORTS]))
        .order_by(HmisImport.created_at)
    )
    return list(rows)


# --- the job ------------------------------------------------------------------------------------


async def _materialize_upload(runtime: HmisRuntime, job: HmisImport) -> Path:
    """The stored upload decrypted to a private temporary file (zip reading needs random
    access); removed when the job ends."""
    assert job.storage_key is not None
    runtime.work_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = runtime.work_dir / f"import-{job.id.hex}.zip"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            async for chunk in runtime.store.open(job.storage_key):
                await asyncio.to_thread(fh.write, chunk)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        raise
    return path


async def _stage_and_validate(
    conn: asyncpg.Connection,
    archive: Archive,
    job: HmisImport,
    report: Report,
    progress: JobProgress,
) -> tuple[dict[str, Staged], ExportRow | None]:
    allow_missing = bool(job.options.get("allow_missing_files"))
    prefix = f"hmis_s{job.id.hex[:8]}"
    staged: dict[str, Staged] = {}
    for file in FILES:
        if file not in archive.members:
            severity_ = "warning" if allow_missing and file != "Export" else "high"
            report.add(
                file,
                None,
                "missing_file",
                f"{file}.csv is not in the archive"
                + ("; read as empty." if severity_ == "warning" else "."),
                severity_=severity_,  # type: ignore[arg-type]
            )
            continue
        found = await stage_file(conn, archive, file, prefix, report)
        if found is not None:
            staged[file] = found
            await progress.update(file, rows=found.rows)
    export = None
    if "Export" in staged:
        export = await read_export_row(conn, staged["Export"], report)
    if export is not None:
        await check_hashing(conn, export, staged.get("Client"), report)
    hashed = export is not None and export.hash_status == "4"
    for file, current in staged.items():
        await validate_values(conn, current, report, hashed=hashed)
        if current.typed:
            await validate_rows(conn, current, report)
        await progress.update(file, validated=current.rows)

    async def keys_done(file: str, **_: Any) -> None:
        await progress.update(file, keys_checked=True)

    await validate_keys(
        conn,
        staged,
        report,
        export_id=export.export_id if export is not None else None,
        progress=keys_done,
    )
    return staged, export


async def _data_source(
    session: AsyncSession, actor: Actor, job: HmisImport, export: ExportRow
) -> uuid.UUID:
    key = (
        str(job.options.get("data_source") or "")
        or export.get("ImplementationID")
        or export.get("SourceID")
        or export.get("SourceName")
        or "unnamed source"
    )[:200]
    found = await session.scalar(
        select(HmisDataSource.id).where(
            HmisDataSource.coc_id == actor.coc_id, HmisDataSource.key == key
        )
    )
    if found is not None:
        return found
    source = HmisDataSource(coc_id=actor.coc_id, key=key, name=export.get("SourceName"))
    session.add(source)
    await session.flush()
    audit.record(
        session, actor, "hmis_data_source.create", "hmis_data_source", source.id, {"key": key}
    )
    return source.id


async def run_import(
    runtime: HmisRuntime, import_id: uuid.UUID, *, path: Path | None = None
) -> str:
    """Validate and load the import's zip (``path``, or its stored upload); returns the final
    status. Safe to call again for an unfinished job: another process already running it makes
    this call a no-op, and what a crashed run did was rolled back."""
    async with unit_of_work(runtime.sessionmaker) as session:
        job = await session.get(HmisImport, import_id)
        if job is None or job.status in TERMINAL:
            return job.status if job is not None else "missing"
        job.status = ImportStatus.VALIDATING
        job.started_at = clock.now()
        job.progress = {"phase": "reading", "files": {}}
    progress = JobProgress(runtime, HmisImport, import_id)
    progress.state["phase"] = "reading"
    progress.close_phase()
    report = Report()
    counts: dict[str, dict[str, int]] = {}
    data_source_id: uuid.UUID | None = None
    source_export_id: str | None = None
    status = ImportStatus.FAILED
    error: str | None = None
    temporary: Path | None = None
    try:
        if path is None:
            temporary = path = await _materialize_upload(runtime, job)
        archive = await asyncio.to_thread(open_archive, str(path), runtime.limits)
        with archive:
            report.extend(archive.issues)
            if not archive.usable:
                raise _Refused()
            async with unit_of_work(runtime.sessionmaker) as session:
                conn = await raw_connection(session)
                await conn.execute("SET LOCAL statement_timeout = 0")
                await conn.execute("SET LOCAL synchronous_commit = off")
                # The load's statements are large scans run once: compiling them (JIT) costs
                # more than it saves.
                await conn.execute("SET LOCAL jit = off")
                # The value checks read dates back in ISO (validate.fast_ok).
                await conn.execute("SET LOCAL datestyle = 'ISO, MDY'")
                # Sorts and groupings over every row of a file (the upserts in id order, the
                # duplicate keys) stay in memory instead of spilling to disk.
                await conn.execute("SET LOCAL work_mem = '64MB'")
                if not await conn.fetchval(
                    "SELECT pg_try_advisory_xact_lock($1)", lock_key(f"hmis-import:{import_id}")
                ):
                    return "running elsewhere"
                await conn.execute(
                    "SELECT pg_advisory_xact_lock($1)", lock_key(f"hmis-load:{job.coc_id}")
                )
                assert job.requested_by_user_id is not None
                actor = await membership_actor(
                    session, job.requested_by_user_id, job.organization_id
                )
                if not may_import(actor):
                    raise Forbidden("The user may no longer load HMIS CSV data.")
                await progress.phase("validating")
                staged, export = await _stage_and_validate(conn, archive, job, report, progress)
                if report.has_high or export is None:
                    raise _Refused()
                source_export_id = (export.export_id or "")[:32] or None
                data_source_id = await _data_source(session, actor, job, export)
                await progress.phase("loading", status=ImportStatus.LOADING)
                coc_code = await session.scalar(select(Coc.code).where(Coc.id == actor.coc_id))
                assert coc_code is not None

                async def loaded(file: str, **values: Any) -> None:
                    if values.pop("loaded", False) and file in staged:
                        values["loaded"] = staged[file].rows
                    await progress.update(file, **values)

                scope = loader.LoadScope(
                    conn=conn,
                    session=session,
                    actor=actor,
                    cipher=runtime.cipher,
                    data_source_id=data_source_id,
                    import_id=import_id,
                    coc_code=coc_code,
                    staged=staged,
                    report=report,
                    progress=loaded,
                    counts=counts,
                )
                await loader.load_all(scope)
                if report.has_high:
                    raise _Refused()
                await loader.drop_temporaries(scope)
        status = ImportStatus.SUCCEEDED
    except _Refused:
        status = ImportStatus.REFUSED
    except (IntegrityError, asyncpg.IntegrityConstraintViolationError) as exc:
        name = constraint_name(exc) or getattr(exc, "constraint_name", None)
        report.add(
            None,
            None,
            "database_constraint",
            f"The load broke a CAS database rule ({name or 'unknown'}); nothing was written.",
        )
        status, error = ImportStatus.FAILED, "database_constraint"
    except DomainError as exc:
        status, error = ImportStatus.FAILED, exc.detail[:500]
    except ObjectMissing:
        status, error = ImportStatus.FAILED, "The uploaded file is no longer stored."
    except (DBAPIError, asyncpg.PostgresError, OSError) as exc:
        log.warning("hmis import failed", extra={"error_type": type(exc).__name__})
        status, error = ImportStatus.FAILED, f"The load stopped on an error ({type(exc).__name__})."
    finally:
        if temporary is not None:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
    await _finish(
        runtime,
        import_id,
        status,
        report,
        counts,
        progress,
        error=error,
        data_source_id=data_source_id,
        source_export_id=source_export_id,
    )
    return status


async def _finish(
    runtime: HmisRuntime,
    import_id: uuid.UUID,
    status: str,
    report: Report,
    counts: dict[str, dict[str, int]],
    progress: JobProgress,
    *,
    error: str | None,
    data_source_id: uuid.UUID | None,
    source_export_id: str | None,
) -> None:
    progress.close_phase()
    progress.state["phase"] = "done"
    issues: list[Issue] = report.issues()
    async with unit_of_work(runtime.sessionmaker) as session:
        job = await session.get(HmisImport, import_id, populate_existing=True)
        assert job is not None
        job.status = status
        job.finished_at = clock.now()
        job.progress = dict(progress.state)
        job.summary = report.summary()
        job.counts = counts if status == ImportStatus.SUCCEEDED else {}
        job.error = error
        job.source_export_id = source_export_id
        if status == ImportStatus.SUCCEEDED:
            job.data_source_id = data_source_id
        key, job.storage_key = job.storage_key, None
        if issues:
            await session.execute(
                insert(HmisImportIssue),
                [
                    {
                        "id": uuid.uuid4(),
                        "import_id": import_id,
                        "seq": seq,
                        "file": i.file,
                        "row": i.row,
                        "column": i.column,
                        "rule": i.rule,
                        "severity": i.severity,
                        "message": i.message[:500],
                    }
                    for seq, i in enumerate(issues, start=1)
                ],
            )
        audit.record(
            session,
            None,
            "hmis_import.finish",
            "hmis_import",
            import_id,
            {"status": status, **report.counts()},
            actor_user_id=job.requested_by_user_id,
            coc_id=job.coc_id,
        )
    if key is not None:
        await runtime.store.discard(key)


async def issue_count(session: AsyncSession, job: HmisImport) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(HmisImportIssue)
            .where(HmisImportIssue.import_id == job.id)
        )
        or 0
    )
