"""Background jobs: what the server runs periodically (``app.main``) and the CLI runs on demand,
composed from the domain packages. Like ``app.main`` and ``app.cli``, this is a composition
root: it may call any package, so the packages themselves never call upward (the email outbox
does not know about password resets, housekeeping does not know about documents).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.services.documents import core as documents
from app.services.identity import auth
from app.services.platform import email, maintenance
from app.services.queue import facts as queue_facts
from app.storage import file_store_from_settings


async def deliver_emails(session: AsyncSession, settings: Settings) -> int:
    """Queued password-reset requests become reset emails (or are dropped), then every pending
    email is sent; how many were sent."""
    await auth.process_password_reset_requests(session, settings)
    return await email.deliver_pending(session, settings)


async def maintain(session: AsyncSession, settings: Settings) -> dict[str, int]:
    """Purge deleted documents' bytes past retention and orphaned stored objects, expire
    idempotency keys, remove ended sessions, recompute queue entries whose facts went stale;
    the counts by name."""
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
        "queue_entries_refreshed": lambda s, now: queue_facts.refresh_stale(s),
    }
    return await maintenance.run_maintenance(session, tasks)


async def refresh_queue(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """Recompute the household facts (and so the priority key) of every open queue entry, a
    chunk per unit of work: nights homeless and chronic status change with the date alone.
    The server runs it every ``CAS_QUEUE_REFRESH_INTERVAL_SECONDS`` (a day); ``cas
    queue-refresh`` on demand. How many entries."""
    return await queue_facts.refresh_all(sessionmaker)
