"""Background jobs: what the server runs periodically (``app.main``) and the CLI runs on demand,
composed from the domain packages. Like ``app.main`` and ``app.cli``, this is a composition
root: it may call any package, so the packages themselves never call upward (the email outbox
does not know about password resets, housekeeping does not know about documents).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.services.documents import core as documents
from app.services.identity import auth
from app.services.platform import email, maintenance
from app.storage import file_store_from_settings


async def deliver_emails(session: AsyncSession, settings: Settings) -> int:
    """Queued password-reset requests become reset emails (or are dropped), then every pending
    email is sent; how many were sent."""
    await auth.process_password_reset_requests(session, settings)
    return await email.deliver_pending(session, settings)


async def maintain(session: AsyncSession, settings: Settings) -> dict[str, int]:
    """Purge deleted documents' bytes past retention and orphaned stored objects, expire
    idempotency keys, remove ended sessions; the counts by name."""
    store = file_store_from_settings(settings)
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
    }
    return await maintenance.run_maintenance(session, tasks)
