"""Housekeeping run by the server every ``CAS_MAINTENANCE_INTERVAL_SECONDS`` and by
``cas maintenance``.

Each package owns its tasks (``documents``: purge deleted documents' bytes after the retention
period, remove orphaned stored objects; ``identity``: remove ended sessions; this one: expire
idempotency keys). The composition root (``app.jobs.maintain``) hands them to
``run_maintenance`` by name, so this module imports no higher package.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import IdempotencyRecord
from app.models.platform import RateLimitBucket
from app.security import utcnow

# One housekeeping task: does its work at ``now`` and says how many things it removed.
MaintenanceTask = Callable[[AsyncSession, datetime], Awaitable[int]]


async def run_maintenance(
    session: AsyncSession, tasks: Mapping[str, MaintenanceTask], *, now: datetime | None = None
) -> dict[str, int]:
    """Run ``tasks`` in order, in the caller's transaction; their counts by name."""
    now = now or utcnow()
    return {name: await task(session, now) for name, task in tasks.items()}


async def expire_idempotency_keys(session: AsyncSession, now: datetime, *, ttl: timedelta) -> int:
    keys = await session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < now - ttl)
    )
    return int(getattr(keys, "rowcount", 0) or 0)


async def expire_rate_limits(session: AsyncSession, now: datetime) -> int:
    """Rate-limit budgets whose window has passed (``app.http.ratelimit``)."""
    removed = await session.execute(delete(RateLimitBucket).where(RateLimitBucket.expires_at < now))
    return int(getattr(removed, "rowcount", 0) or 0)
