"""Housekeeping run by the server every ``CAS_MAINTENANCE_INTERVAL_SECONDS`` and by
``cas maintenance``: purge deleted documents' bytes after the retention period, remove orphaned
stored objects, and drop expired idempotency keys and auth sessions."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models import AuthSession, IdempotencyRecord
from app.security import utcnow
from app.services.documents.core import purge_deleted, sweep_orphans
from app.storage import file_store_from_settings


async def run_maintenance(session: AsyncSession, settings: Settings) -> dict[str, int]:
    now = utcnow()
    store = file_store_from_settings(settings)
    purged = await purge_deleted(
        session, store, now, retention_days=settings.document_retention_days
    )
    swept = await sweep_orphans(session, store, now)
    keys = await session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.created_at < now - timedelta(hours=settings.idempotency_ttl_hours)
        )
    )
    # Ended sessions are kept a day for investigations, then removed with their tokens.
    sessions = await session.execute(
        delete(AuthSession).where(AuthSession.expires_at < now - timedelta(days=1))
    )
    return {
        "documents_purged": purged,
        "orphans_removed": swept,
        "idempotency_keys_expired": int(getattr(keys, "rowcount", 0) or 0),
        "auth_sessions_removed": int(getattr(sessions, "rowcount", 0) or 0),
    }
