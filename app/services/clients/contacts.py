"""Contacts keep a client active (DOMAIN 5): any CLS, assessment, service or document upload."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.models import Client

INACTIVE_AFTER = timedelta(days=90)


async def record_contact(
    session: AsyncSession, client_id: uuid.UUID, at: datetime | None = None
) -> None:
    """Move the client's ``last_contact_at`` forward to ``at`` (never backwards); a record dated
    by day counts at noon of that day in the CoC's zone (``clock.local_noon``)."""
    at = at or clock.now()
    await session.execute(
        update(Client)
        .where(Client.id == client_id)
        .values(last_contact_at=func.greatest(func.coalesce(Client.last_contact_at, at), at))
        .execution_options(synchronize_session=False)
    )


def is_inactive(last_contact_at: datetime | None, now: datetime | None = None) -> bool:
    now = now or clock.now()
    return last_contact_at is None or now - last_contact_at > INACTIVE_AFTER
