"""Background jobs: what the server runs periodically (``app.main``) and the CLI runs on demand,
composed from the domain packages. Like ``app.main`` and ``app.cli``, this is a composition
root: it may call any package, so the packages themselves never call upward (the email outbox
does not know about password resets, housekeeping does not know about documents).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.services.documents import core as documents
from app.services.hmis import exports as hmis_exports
from app.services.hmis import housekeeping as hmis_housekeeping
from app.services.hmis import imports as hmis_imports
from app.services.hmis.runtime import HmisRuntime
from app.services.identity import auth
from app.services.platform import email, maintenance
from app.storage import file_store_from_settings, hmis_file_store_from_settings


async def deliver_emails(session: AsyncSession, settings: Settings) -> int:
    """Queued password-reset requests become reset emails (or are dropped), then every pending
    email is sent; how many were sent."""
    await auth.process_password_reset_requests(session, settings)
    return await email.deliver_pending(session, settings)


async def maintain(session: AsyncSession, settings: Settings) -> dict[str, int]:
    """Purge deleted documents' bytes past retention and orphaned stored objects, expire
    idempotency keys, remove ended sessions, delete expired HMIS CSV exports and orphaned HMIS
    files; the counts by name."""
    store = file_store_from_settings(settings)
    hmis_store = hmis_file_store_from_settings(settings)
    ttl = timedelta(hours=settings.idempotency_ttl_hours)
    tasks: dict[str, maintenance.MaintenanceTask] = {
        "documents_purged": lambda s, now: documents.purge_deleted(
            s, store, now, retention_days=settings.document_retention_days
        ),
        "orphans_removed": lambda s, now: documents.sweep_orphans(s, store, now),
        "idempotency_keys_expired": lambda s, now: maintenance.expire_idempotency_keys(
            s, now, ttl=ttl
        ),
        "auth_sessions_removed": auth.remove_ended_sessions,
        "hmis_exports_expired": lambda s, now: hmis_housekeeping.expire_hmis_exports(
            s, hmis_store, now
        ),
        "hmis_files_removed": lambda s, now: hmis_housekeeping.sweep_hmis_files(s, hmis_store, now),
    }
    return await maintenance.run_maintenance(session, tasks)


async def unfinished_hmis_jobs(
    session: AsyncSession, runtime: HmisRuntime
) -> list[tuple[str, Callable[[], Awaitable[str]]]]:
    """The HMIS CSV imports and exports a stopped server left unfinished, as (name, job) to
    start again: an import's load was rolled back with its transaction and starts over from its
    stored upload; an export starts over."""
    jobs: list[tuple[str, Callable[[], Awaitable[str]]]] = []

    def bind(
        run: Callable[[HmisRuntime, uuid.UUID], Awaitable[str]], job_id: uuid.UUID
    ) -> Callable[[], Awaitable[str]]:
        return lambda: run(runtime, job_id)

    for import_id in await hmis_imports.unfinished_imports(session):
        jobs.append((f"hmis-import-{import_id}", bind(hmis_imports.run_import, import_id)))
    for export_id in await hmis_exports.unfinished_exports(session):
        jobs.append((f"hmis-export-{export_id}", bind(hmis_exports.run_export, export_id)))
    return jobs
